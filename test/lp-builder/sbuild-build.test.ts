// Opt-in (BUILDBOX_SBUILD_TESTS=1, slow): a real sbuild build through the launchpad-buildd face,
// from a chroot tarball in Launchpad's layout (everything under `chroot-autobuild/`), which the
// binarypackage manager re-roots for sbuild's unshare mode. Chroot location and suite: see
// test/helpers/chroots.ts.
// Making the Launchpad-layout tarball unpacks the chroot, which needs root (device nodes, owners).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSourcePackage } from '../fixtures/make-package';
import { SBUILD_SKIP_REASON, SBUILD_TESTS, TEST_SUITE, testChrootTarball } from '../helpers/chroots';
import { HOST_ARCH } from '../worker/helpers';
import { pyCalls, startTestBuilder, unwrap, type TestBuilder } from './helpers';

const isRoot = process.getuid?.() === 0;
const enabled = SBUILD_TESTS && isRoot;
if (!enabled) console.info(`launchpad-buildd sbuild build: skipped — ${SBUILD_TESTS ? 'making the Launchpad-layout chroot needs root' : SBUILD_SKIP_REASON}`);

describe.runIf(enabled)('binarypackage builds with the sbuild backend (opt-in)', () => {
  const suite = TEST_SUITE;
  let work = '';
  let lpTarball = '';
  let t: TestBuilder | null = null;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lp-sbuild-'));
    const tarball = await testChrootTarball({ arch: HOST_ARCH, scratch: work, suite });
    // Launchpad's layout: the chroot under a top-level chroot-autobuild/.
    const root = join(work, 'lp', 'chroot-autobuild');
    mkdirSync(root, { recursive: true });
    execFileSync('tar', ['-C', root, '-xf', tarball]);
    lpTarball = join(work, 'lp-chroot.tar.gz');
    execFileSync('tar', ['-C', join(work, 'lp'), '-czf', lpTarball, 'chroot-autobuild']);
    rmSync(join(work, 'lp'), { recursive: true, force: true });
  }, 900_000);

  afterAll(async () => {
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('builds a package from a Launchpad-layout chroot: WAITING OK with the .deb', async () => {
    t = await startTestBuilder({ backend: 'sbuild', backendOptions: { kill: { afterInterruptMs: 20_000, afterTerminateMs: 5_000 } }, archTag: HOST_ARCH });
    symlinkSync(lpTarball, join(t.cacheDir, 'lp-chroot'));
    const src = makeSourcePackage(join(work, 'src'), {});
    const filemap: Record<string, string> = {};
    for (const f of src.files) {
      const sum = execFileSync('sha1sum', [join(src.dir, f)], { encoding: 'utf8' }).split(' ')[0]!;
      execFileSync('cp', [join(src.dir, f), join(t.cacheDir, sum)]);
      filemap[f] = sum;
    }
    const args = { series: suite, suite, ogrecomponent: 'main' };
    expect(unwrap((await pyCalls([{ url: t.rpcUrl, method: 'build', args: ['PACKAGEBUILD-9', 'binarypackage', 'lp-chroot', filemap, args] }]))[0]!)).toEqual([
      'BuilderStatus.BUILDING',
      'PACKAGEBUILD-9',
    ]);
    const s = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    const log = await (await fetch(`${t.url}/filecache/buildlog`)).text();
    expect(log).toContain('re-rooted from chroot-autobuild/');
    expect(s.build_status).toBe('BuildStatus.OK');
    expect(Object.keys(s.filemap)).toContain(`${src.name}_${src.version}_${HOST_ARCH}.deb`);
  }, 900_000);
});
