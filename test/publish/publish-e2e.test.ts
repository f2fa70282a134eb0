// Publishing end to end: a real controller with --publish and a throwaway signing key, a real
// `buildbox worker --backend dpkg` process over RabbitMQ, a generated package built to Done; then
// apt (with a private configuration) fetches it from the controller's /repo/ and checks both the
// repository's signature and the package's content.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type Controller } from '../../src-main/controller/controller';
import { hashToken, newToken } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import { buildQueueName } from '../../src-shared/pybit-models';
import { AMQP_TEST_URL, uniqueName } from '../helpers/db';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { Broker, startWorker, stopAll, until, type Proc } from '../worker-e2e/harness';
import { SourceServer } from '../worker-e2e/sources';

// The controller runs in this process: commands that talk to it must not block the event loop.
const run = promisify(execFile);
const ADMIN_PASSWORD = 'publish-e2e-admin';
const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
const dirs = tempDirs();
const suite = uniqueName('bbpub');
const pkgName = `bbpub-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
let ctl: Controller;
let sources: SourceServer;
let worker: Proc;
let broker: Broker;
let gnupgHome: string;
let keyId: string;
let root: string;

async function call(method: string, path: string, form?: Record<string, string>): Promise<Response> {
  return fetch(ctl.url + path, {
    method,
    headers: { authorization: basic, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
}

async function ok(method: string, path: string, form?: Record<string, string>): Promise<string> {
  const r = await call(method, path, form);
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${text}`);
  return text;
}

function gpg(args: string[], input?: string): string {
  return execFileSync('gpg', ['--batch', ...args], { env: { ...process.env, GNUPGHOME: gnupgHome }, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

beforeAll(async () => {
  root = dirs.make('bb-publish-');
  gnupgHome = join(root, 'gnupg');
  mkdirSync(gnupgHome, { mode: 0o700 });
  gpg(['--passphrase', '', '--quick-gen-key', 'Buildbox Publish Test <publish@buildbox.invalid>', 'default', 'default', 'never']);
  keyId = /^fpr:+([0-9A-F]+):/m.exec(gpg(['--with-colons', '--list-secret-keys']))![1]!;

  ctl = await startController({
    dataDir: join(root, 'data'),
    amqp: AMQP_TEST_URL,
    port: 0,
    adminPassword: ADMIN_PASSWORD,
    sweepIntervalMs: 250,
    logLevel: 'silent',
    publisher: { pollMs: 200, retryBaseMs: 200 },
    publish: true,
    signKey: keyId,
    gnupgHome,
    publishRetryBaseMs: 300,
  });
  const token = newToken();
  await ctl.ctx.db.kysely.insertInto('tokens').values({ user_id: null, name: 'publish e2e worker', kind: 'worker', token_hash: hashToken(token), created_at: nowText(), revoked_at: null }).execute();
  await ok('POST', '/suite', { name: suite });
  const db = ctl.ctx.db.kysely;
  if (!(await db.selectFrom('arch').select('id').where('name', '=', HOST_ARCH).executeTakeFirst())) await ok('POST', '/arch', { name: HOST_ARCH });
  const s = await db.selectFrom('suite').select('id').where('name', '=', suite).executeTakeFirstOrThrow();
  const a = await db.selectFrom('arch').select('id').where('name', '=', HOST_ARCH).executeTakeFirstOrThrow();
  await ok('POST', '/suitearch', { suite_id: String(s.id), arch_id: String(a.id), master_weight: '1' });

  broker = await Broker.connect();
  sources = await SourceServer.start(dirs.make('bb-publish-src-'));
  worker = startWorker({ clientId: uniqueName('pubw'), suite, arch: HOST_ARCH, buildroot: dirs.make('bb-publish-root-'), controller: ctl.url, token });
  await worker.waitFor(/ready:/);
}, 120_000);

afterAll(async () => {
  await stopAll();
  await ctl?.close();
  await broker?.deleteQueue(buildQueueName('Debian', HOST_ARCH, suite, 'deb'));
  await broker?.close();
  await sources?.close();
  dirs.cleanup();
});

interface RepoListing {
  dist: string;
  suites: Record<string, Array<{ package: string; version: string; arch: string; component: string }>>;
}

describe('publishing Done jobs into an apt repository', () => {
  it('a Done build is signed, included with reprepro, served at /repo/ and installable with apt', async () => {
    const g = sources.git({ name: pkgName, variant: 'ok' });
    await ok('POST', '/job/vcshook', { method: 'git', uri: g.uri, vcs_id: g.commit, distribution: 'Debian', architecture_list: HOST_ARCH, package_version: g.version, package: g.name, suite, format: 'deb' });

    // The repository's listing shows the package once the job is Done and published.
    let listing: RepoListing | null = null;
    await until(async () => {
      const r = await call('GET', '/api/v1/repo/Debian');
      if (r.status !== 200) return false;
      listing = (await r.json()) as RepoListing;
      return (listing.suites[suite] ?? []).some((e) => e.package === pkgName);
    }, 250);
    expect(listing!.suites[suite]).toContainEqual({ package: pkgName, version: g.version, arch: HOST_ARCH, component: 'main' });

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
    await ok('POST', '/job/vcshook', { method: 'git', uri: g.uri, vcs_id: g.commit, distribution: 'Debian', architecture_list: HOST_ARCH, package_version: g.version, package: g.name, suite, format: 'deb' });
    const job = await ctl.ctx.db.kysely
      .selectFrom('job as j')
      .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
      .innerJoin('package as p', 'p.id', 'pi.package_id')
      .select('j.id')
      .where('p.name', '=', name)
      .executeTakeFirstOrThrow();
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
