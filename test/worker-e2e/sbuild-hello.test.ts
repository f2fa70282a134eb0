// Opt-in (BUILDBOX_SBUILD_TESTS=1, a few minutes): Debian's `hello`, fetched with `apt-get source`
// through the test's own apt configuration and served as a .dsc URL, goes through a real
// controller, RabbitMQ and a `buildbox worker --backend sbuild` process to Done, built by sbuild
// in an unshare chroot (see test/helpers/chroots.ts for where the tarball comes from).
// The queue's suite name is unique to the run; a symlink named for it in the test's own chroots
// directory selects the real suite's tarball.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactInfo } from '../../src-shared/worker-api';
import { tarballFileName } from '../../src-worker/chroots';
import { DEFAULT_MIRROR, privateAptOptions } from '../../src-worker/fetch/apt';
import { serveDirectory, type StaticServer } from '../fixtures/static-server';
import { noteSbuildSkipped, SBUILD_TESTS, TEST_MIRROR, TEST_SUITE, testChrootTarball } from '../helpers/chroots';
import { uniqueName } from '../helpers/db';
import { startWorkerFarm, type WorkerFarm } from '../helpers/worker-farm';
import { HOST_ARCH, tempDirs } from '../worker/helpers';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** `apt-get source --download-only hello` from `suite`, with apt confined to `dir/.apt`. */
function aptGetSource(dir: string, pkg: string, suite: string): string {
  const state = join(dir, '.apt');
  for (const d of ['lists/partial', 'archives/partial', 'cache', 'sources.list.d', 'preferences.d']) mkdirSync(join(state, d), { recursive: true });
  writeFileSync(join(state, 'status'), '');
  writeFileSync(join(state, 'sources.list'), `deb-src ${TEST_MIRROR ?? DEFAULT_MIRROR} ${suite} main\n`);
  const opts = privateAptOptions(state);
  execFileSync('apt-get', [...opts, '-q', 'update'], { stdio: 'pipe' });
  execFileSync('apt-get', [...opts, '-q', '--download-only', '--only-source', 'source', pkg], { cwd: dir, stdio: 'pipe' });
  const dsc = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.dsc'));
  if (!dsc) throw new Error(`apt-get source ${pkg} left no .dsc in ${dir}`);
  return dsc;
}

noteSbuildSkipped('hello through controller and sbuild worker');
describe.runIf(SBUILD_TESTS)('hello from apt-get source, built by an sbuild worker (opt-in)', () => {
  const dirs = tempDirs();
  const suite = uniqueName('sbhello');
  let farm: WorkerFarm | undefined;
  let server: StaticServer | undefined;
  let dscName = '';
  let version = '';

  beforeAll(async () => {
    const chroots = dirs.make('bb-sbuild-chroots-');
    const tarball = await testChrootTarball({ arch: HOST_ARCH, scratch: chroots });
    symlinkSync(tarball, join(chroots, tarballFileName(suite, HOST_ARCH)));

    const src = dirs.make('bb-sbuild-src-');
    dscName = aptGetSource(src, 'hello', TEST_SUITE);
    version = /^Version: (\S+)$/m.exec(readFileSync(join(src, dscName), 'utf8'))![1]!;
    server = await serveDirectory(src);

    farm = await startWorkerFarm({ label: 'sbhello', suite, leaseSeconds: 120, backend: 'sbuild', extra: ['--chroots', chroots] });
  }, 900_000);

  afterAll(async () => {
    await farm?.close();
    await server?.close();
    dirs.cleanup();
  });

  it('builds hello to Done with the .deb and .changes uploaded and the sbuild log streamed', async () => {
    const c = farm!.ctl;
    const id = await c.submit({ name: 'hello', version, method: 'dsc', uri: `${server!.url}/${dscName}`, suite, arch: HOST_ARCH });
    const j = await c.waitFinal(id, { intervalMs: 1000 });
    const log = (await c.bytes(`/api/v1/jobs/${id}/log?offset=0&length=100000000`)).toString();
    expect([j.status, j.result], `${j.details ?? ''}\n${log.slice(-3000)}`).toEqual(['Done', 'OK']);
    expect(j.client).toBe(farm!.workers[0]!.name);

    // sbuild's own output: its banner, the package build, and its summary.
    expect(log).toMatch(/sbuild \(Debian sbuild\)/);
    expect(log).toContain('dpkg-buildpackage');
    expect(log).toMatch(/^Status: successful$/m);

    const arts = await c.json<ArtifactInfo[]>(`/api/v1/jobs/${id}/artifacts`);
    const byName = new Map(arts.map((a) => [a.name, a]));
    const upstream = version.replace(/^\d+:/, '');
    const deb = arts.find((a) => new RegExp(`^hello_${upstream.replace(/[.+]/g, '\\$&')}_${HOST_ARCH}\\.deb$`).test(a.name));
    const changes = arts.find((a) => a.name.startsWith('hello_') && a.name.endsWith('.changes'));
    expect(deb, arts.map((a) => a.name).join(', ')).toBeDefined();
    expect(changes, arts.map((a) => a.name).join(', ')).toBeDefined();

    // The bytes served hash to the SHA-256 the controller lists ...
    for (const a of [deb!, changes!]) expect(sha256(await c.bytes(a.url)), a.name).toBe(a.sha256);
    // ... and every file the .changes lists was uploaded with the checksum the .changes gives.
    const text = (await c.bytes(changes!.url)).toString();
    const listed = [...text.split(/^Checksums-Sha256:\n/m)[1]!.matchAll(/^ ([0-9a-f]{64}) \d+ (\S+)$/gm)].map((m) => ({ sha: m[1]!, name: m[2]! }));
    expect(listed.map((f) => f.name)).toContain(deb!.name);
    for (const f of listed) {
      expect(byName.get(f.name)?.sha256, f.name).toBe(f.sha);
      expect(sha256(await c.bytes(byName.get(f.name)!.url)), f.name).toBe(f.sha);
    }
  }, 900_000);
});
