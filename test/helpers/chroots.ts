// The opt-in switch for the real sbuild tests and the chroot tarball they build in.
//   BUILDBOX_SBUILD_TESTS=1  run them (BUILDBOX_TEST_SBUILD=1, the older name, is accepted too)
//   BUILDBOX_TEST_CHROOTS    a directory with <suite>-<arch>.tar.zst (one is made there if missing)
//   BUILDBOX_TEST_SUITE      the suite to build for (default bookworm)
//   BUILDBOX_TEST_MIRROR     the mirror for mmdebstrap and apt-get source
// Without BUILDBOX_TEST_CHROOTS the machine-wide /var/cache/buildbox-chroots is used when it holds
// a tarball for the suite; otherwise mmdebstrap makes one in the test's own temp dir (~40 s).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBuildLog } from '../../src-worker/build-log';
import { createChrootTarball, findChroot } from '../../src-worker/chroots';

export const SBUILD_TESTS = process.env.BUILDBOX_SBUILD_TESTS === '1' || process.env.BUILDBOX_TEST_SBUILD === '1';
export const SBUILD_SKIP_REASON = 'real sbuild builds are opt-in: set BUILDBOX_SBUILD_TESTS=1 to run them';
export const TEST_SUITE = process.env.BUILDBOX_TEST_SUITE ?? 'bookworm';
export const TEST_MIRROR = process.env.BUILDBOX_TEST_MIRROR || undefined;
export const MACHINE_CHROOTS = '/var/cache/buildbox-chroots';

/** Says once, in the test output, why a file's sbuild tests did not run. */
export function noteSbuildSkipped(what: string): void {
  if (!SBUILD_TESTS) console.info(`${what}: skipped — ${SBUILD_SKIP_REASON}`);
}

/**
 * The chroot tarball for `suite`/`arch`: from BUILDBOX_TEST_CHROOTS (made there if missing),
 * else from /var/cache/buildbox-chroots, else made by mmdebstrap under `scratch`.
 */
export async function testChrootTarball(opts: { arch: string; scratch: string; suite?: string }): Promise<string> {
  const suite = opts.suite ?? TEST_SUITE;
  const want = { suite, arch: opts.arch };
  const configured = process.env.BUILDBOX_TEST_CHROOTS;
  if (!configured) {
    const shared = findChroot(MACHINE_CHROOTS, want);
    if (shared) return shared.path;
  }
  const dir = configured ?? join(opts.scratch, 'chroots');
  const found = findChroot(dir, want);
  if (found) return found.path;
  mkdirSync(dir, { recursive: true }); // mmdebstrap wants the target's directory to exist
  const log = new MemoryBuildLog();
  const made = await createChrootTarball({ dir, suite, arch: opts.arch, mirror: TEST_MIRROR, log });
  if (!made.result.ok || !made.chroot) throw new Error(`mmdebstrap could not make a ${suite}/${opts.arch} chroot in ${dir}:\n${log.text.slice(-4000)}`);
  return made.chroot.path;
}
