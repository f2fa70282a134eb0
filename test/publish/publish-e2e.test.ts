// Publishing end to end: a real controller with --publish and a throwaway signing key, a real
// `buildbox worker --backend dpkg` process over RabbitMQ, a generated package built to Done; then
// apt (with a private configuration) fetches it from the controller's /repo/ and checks both the
// repository's signature and the package's content.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../src-main/controller/controller';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { until } from '../worker-e2e/harness';
import type { SourceServer } from '../worker-e2e/sources';
import { startPublishFarm, type PublishFarm } from './publish-farm';

// The controller runs in this process: commands that talk to it must not block the event loop.
const run = promisify(execFile);
const dirs = tempDirs();
const pkgName = `bbpub-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
let farm: PublishFarm;
let ctl: Controller;
let sources: SourceServer;
let gnupgHome: string;
let keyId: string;
let root: string;
let suite: string;
const call = (method: string, path: string, form?: Record<string, string>) => farm.call(method, path, form);

beforeAll(async () => {
  farm = await startPublishFarm({ dirs, label: 'publish' });
  ({ ctl, sources, gnupgHome, keyId, root, suite } = farm);
}, 120_000);

afterAll(async () => {
  await farm?.close();
  dirs.cleanup();
});

interface RepoListing {
  dist: string;
  suites: Record<string, Array<{ package: string; version: string; arch: string; component: string; path: string }>>;
  signing: Record<string, { signed: boolean; signer: string | null }>;
}

describe('publishing Done jobs into an apt repository', () => {
  it('a Done build is signed, included with reprepro, served at /repo/ and installable with apt', async () => {
    const g = sources.git({ name: pkgName, variant: 'ok' });
    await farm.submitGit(g);

    // The repository's listing shows the package once the job is Done and published.
    let listing: RepoListing | null = null;
    await until(async () => {
      const r = await call('GET', '/api/v1/repo/Debian');
      if (r.status !== 200) return false;
      listing = (await r.json()) as RepoListing;
      return (listing.suites[suite] ?? []).some((e) => e.package === pkgName);
    }, 250);
    expect(listing!.suites[suite]).toContainEqual({
      package: pkgName,
      version: g.version,
      arch: HOST_ARCH,
      component: 'main',
      path: `pool/main/${pkgName[0]}/${pkgName}/${pkgName}_${g.version}_${HOST_ARCH}.deb`,
    });
    expect(listing!.signing[suite]).toEqual({ signed: true, signer: keyId });

    // The published .changes carries the controller's signature, made with the configured key.
    const changesName = `${pkgName}_${g.version}_${HOST_ARCH}.changes`;
    const signed = await call('GET', `/repo/Debian/changes/${changesName}`);
    expect(signed.status).toBe(200);
    const signedText = await signed.text();
    expect(signedText).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----/);
    const changesFile = join(root, changesName);
    writeFileSync(changesFile, signedText);
    const verify = execFileSync('gpg', ['--batch', '--status-fd', '1', '--verify', changesFile], { env: { ...process.env, GNUPGHOME: gnupgHome }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    expect(verify).toMatch(new RegExp(`VALIDSIG ${keyId}`));

    // Served files have the types apt and browsers expect; reprepro's own directories are not served.
    const inRelease = await call('GET', `/repo/Debian/dists/${suite}/InRelease`);
    expect(inRelease.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await inRelease.text()).toContain(`Codename: ${suite}`);
    expect((await call('GET', '/repo/Debian/conf/distributions')).status).toBe(404);
    expect((await call('GET', '/repo/Debian/db/packages.db')).status).toBe(404);
    expect((await call('GET', '/repo/Debian/../../buildbox.db')).status).toBe(404);
    expect(await (await call('GET', '/repo/Debian/')).text()).toContain('dists/');

    // apt, with a private configuration, trusting only the throwaway key.
    const apt = join(root, 'apt');
    for (const d of ['state/lists/partial', 'cache/archives/partial', 'etc/apt.conf.d', 'etc/preferences.d', 'etc/trusted.gpg.d', 'dl']) mkdirSync(join(apt, d), { recursive: true });
    const keyring = join(apt, 'repo-key.gpg');
    writeFileSync(keyring, execFileSync('gpg', ['--batch', '--export', keyId], { env: { ...process.env, GNUPGHOME: gnupgHome } }));
    writeFileSync(join(apt, 'etc', 'sources.list'), `deb [signed-by=${keyring}] ${ctl.url}/repo/Debian ${suite} main\n`);
    writeFileSync(join(apt, 'dpkg-status'), '');
    const aptOpts = [
      '-o', `Dir::State=${join(apt, 'state')}`,
      '-o', `Dir::State::status=${join(apt, 'dpkg-status')}`,
      '-o', `Dir::Cache=${join(apt, 'cache')}`,
      '-o', `Dir::Etc=${join(apt, 'etc')}`,
      '-o', `Dir::Etc::SourceList=${join(apt, 'etc', 'sources.list')}`,
      '-o', 'Dir::Etc::SourceParts=/nonexistent',
      '-o', `APT::Architecture=${HOST_ARCH}`,
      '-o', 'APT::Sandbox::User=root',
      '-o', 'Acquire::Languages=none',
    ];
    const update = (await run('apt-get', [...aptOpts, 'update'])).stdout;
    expect(update).not.toMatch(/^(W|E):/m);
    await run('apt-get', [...aptOpts, 'download', pkgName], { cwd: join(apt, 'dl') });
    const debs = readdirSync(join(apt, 'dl')).filter((f) => f.endsWith('.deb'));
    expect(debs).toEqual([`${pkgName}_${g.version}_${HOST_ARCH}.deb`]);
    const instdir = join(root, 'instroot');
    execFileSync('dpkg-deb', ['-x', join(apt, 'dl', debs[0]!), instdir]);
    expect(readFileSync(join(instdir, 'usr', 'share', 'doc', pkgName, 'README'), 'utf8')).toBe(`Buildbox test package ${pkgName} ${g.version}\n`);

    const deb = await call('GET', `/repo/Debian/pool/main/${pkgName[0]}/${pkgName}/${debs[0]}`);
    expect(deb.headers.get('content-type')).toBe('application/vnd.debian.binary-package');
  }, 180_000);

  it('a failed publish is recorded and retried until it succeeds; the job stays Done', async () => {
    const name = `${pkgName}-retry`;
    const g = sources.git({ name, variant: 'ok' });
    // reprepro refuses to work on a repository whose lock file exists: a real, passing failure.
    const lock = join(root, 'data', 'repo', 'Debian', 'db', 'lockfile');
    expect(existsSync(join(root, 'data', 'repo', 'Debian', 'db'))).toBe(true);
    writeFileSync(lock, '');
    const job = { id: await farm.submitGit(g) };
    let failures: Array<{ job: number; attempts: number; error: string }> = [];
    await until(async () => {
      failures = ((await (await call('GET', '/api/v1/repo/Debian')).json()) as { publishFailures: typeof failures }).publishFailures;
      return failures.some((f) => f.job === job.id && f.attempts >= 2);
    }, 250);
    expect(failures.find((f) => f.job === job.id)!.error).toMatch(/lock/i);
    let listing = (await (await call('GET', '/api/v1/repo/Debian')).json()) as RepoListing;
    expect(listing.suites[suite]!.some((e) => e.package === name)).toBe(false);

    rmSync(lock);
    await until(async () => {
      listing = (await (await call('GET', '/api/v1/repo/Debian')).json()) as RepoListing;
      return listing.suites[suite]!.some((e) => e.package === name);
    }, 250);
    const after = ((await (await call('GET', '/api/v1/repo/Debian')).json()) as { publishFailures: typeof failures }).publishFailures;
    expect(after.some((f) => f.job === job.id)).toBe(false);
    // The first package is still there: including one upload does not disturb another.
    expect(listing.suites[suite]!.some((e) => e.package === pkgName)).toBe(true);
    const status = await ctl.ctx.db.kysely.selectFrom('job').select('status').where('id', '=', job.id).executeTakeFirstOrThrow();
    expect(status.status).toBe('Done');
  }, 120_000);

  it('an unknown distribution is a 404 naming it', async () => {
    const r = await call('GET', '/api/v1/repo/NoSuchDist');
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toContain("'NoSuchDist'");
    expect((await call('GET', '/api/v1/repo/..%2F..')).status).toBe(404);
  });
});
