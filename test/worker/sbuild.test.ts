// sbuild's command line and outcome mapping run always; real sbuild builds (unshare chroot
// made by mmdebstrap, ~30 s each plus ~40 s to make the chroot) only with BUILDBOX_SBUILD_TESTS=1
// (chroot location and suite: see test/helpers/chroots.ts).
// Running as root needs `root:100000:65536` in /etc/subuid and /etc/subgid.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildSpec } from '../../src-worker/backends/backend';
import { SbuildBackend, sbuildArgs, unpackedChrootDir } from '../../src-worker/backends/sbuild';
import { MemoryBuildLog } from '../../src-worker/build-log';
import { makeSourcePackage, UNSATISFIABLE_DEPENDENCY, type PackageSpec } from '../fixtures/make-package';
import { noteSbuildSkipped, SBUILD_TESTS, TEST_SUITE, testChrootTarball } from '../helpers/chroots';
import { HOST_ARCH, processesMatching, tempDirs, until } from './helpers';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

function spec(over: Partial<BuildSpec> = {}): BuildSpec & { log: MemoryBuildLog } {
  return {
    workdir: '/w/build',
    dsc: '/w/src/hello_1.0.dsc',
    arch: 'amd64',
    suite: 'bookworm',
    archIndep: true,
    chrootTarball: '/c/bookworm-amd64.tar.zst',
    log: new MemoryBuildLog(),
    signal: new AbortController().signal,
    ...over,
  } as BuildSpec & { log: MemoryBuildLog };
}

describe('sbuild backend (no sbuild needed)', () => {
  it('builds master jobs with -A -s and slaves with --no-arch-all', () => {
    const master = sbuildArgs(spec());
    expect(master).toEqual([
      '--chroot-mode=unshare',
      '--chroot=/c/bookworm-amd64.tar.zst',
      '-d',
      'bookworm',
      '--arch=amd64',
      '--nolog',
      '--build-dir=/w/build',
      '--no-run-lintian',
      '--no-run-piuparts',
      '--no-run-autopkgtest',
      '-A',
      '-s',
      '/w/src/hello_1.0.dsc',
    ]);
    const slave = sbuildArgs(spec({ archIndep: false, archives: ['deb http://ppa.example/ubuntu jammy main'] }), ['/k/key-0.gpg']);
    expect(slave).toContain('--no-arch-all');
    expect(slave).not.toContain('-A');
    expect(slave).toContain('--extra-repository=deb http://ppa.example/ubuntu jammy main');
    expect(slave).toContain('--extra-repository-key=/k/key-0.gpg');
  });

  it('is a CHROOTFAIL without a chroot tarball', async () => {
    const out = await new SbuildBackend().build(spec({ chrootTarball: undefined }));
    expect(out.category).toBe('CHROOTFAIL');
  });

  it('is a BUILDERFAIL when sbuild cannot run', async () => {
    const src = makeSourcePackage(dirs.make('bb-src-'), {});
    const out = await new SbuildBackend({ sbuild: '/nonexistent/sbuild' }).build(
      spec({ dsc: src.dsc, workdir: join(dirs.make('bb-build-'), 'build') }),
    );
    expect(out.category).toBe('BUILDERFAIL');
  });
});

describe('sbuild backend: the unpacked chroot (a stand-in sbuild)', () => {
  /** An "sbuild" that unpacks (makes a directory with a file in it), says so as sbuild does, and dies. */
  function fakeSbuild(dirName: string): { sbuild: string; unpacked: string } {
    const bin = dirs.make('bb-fake-sbuild-');
    const unpacked = join(dirs.make('bb-fake-tmp-'), dirName);
    const sbuild = join(bin, 'sbuild');
    writeFileSync(
      sbuild,
      `#!/bin/sh\nmkdir -p '${unpacked}/usr/bin' && echo x > '${unpacked}/usr/bin/f'\necho "Unpacking /c/bookworm-amd64.tar.zst to ${unpacked}..."\nkill -9 $$\n`,
    );
    chmodSync(sbuild, 0o755);
    return { sbuild, unpacked };
  }
  const run = async (sbuild: string) => {
    const src = makeSourcePackage(dirs.make('bb-src-'), {});
    const s = spec({ dsc: src.dsc, workdir: join(dirs.make('bb-build-'), 'build') });
    return { s, out: await new SbuildBackend({ sbuild }).build(s) };
  };

  it('removes what sbuild unpacked when sbuild dies before cleaning up', async () => {
    const { sbuild, unpacked } = fakeSbuild('tmp.sbuild.Ab3_xY');
    const { s, out } = await run(sbuild);
    expect(out.category).toBe('BUILDERFAIL');
    expect(existsSync(unpacked)).toBe(false);
    expect(s.log.text).toContain(`Removing the unpacked chroot sbuild left behind: ${unpacked}`);
  });

  it('leaves alone a directory that is not one of sbuild\'s', async () => {
    const { sbuild, unpacked } = fakeSbuild('not-sbuild');
    await run(sbuild);
    expect(existsSync(join(unpacked, 'usr/bin/f'))).toBe(true);
  });
});

noteSbuildSkipped('sbuild backend (real builds)');
describe.runIf(SBUILD_TESTS)('sbuild backend (real builds, opt-in)', () => {
  const suite = TEST_SUITE;
  let tarball = '';
  beforeAll(async () => {
    tarball = await testChrootTarball({ arch: HOST_ARCH, scratch: dirs.make('bb-chroots-') });
  }, 900_000);

  const build = (pkg: PackageSpec, over: Partial<BuildSpec> = {}) => {
    const src = makeSourcePackage(dirs.make('bb-src-'), pkg);
    const s = spec({ dsc: src.dsc, workdir: join(dirs.make('bb-build-'), 'build'), arch: HOST_ARCH, suite, chrootTarball: tarball, ...over });
    return { src, s, run: () => new SbuildBackend({ kill: { afterInterruptMs: 20_000, afterTerminateMs: 5_000 } }).build(s) };
  };

  it('builds a package', async () => {
    const { src, s, run } = build({});
    const out = await run();
    expect(out.category).toBe('OK');
    expect(out.files.map((f) => basename(f))).toContain(`${src.name}_${src.version}_${HOST_ARCH}.deb`);
    expect(s.log.text).toContain('Status: successful');
  }, 600_000);

  it('reports DEPFAIL naming the missing dependency', async () => {
    const { s, run } = build({ variant: 'depfail' });
    const out = await run();
    // On failure, show how sbuild ended (its summary and apt's last words).
    const tail = `${out.message ?? ''}\n${s.log.text.split('\n').slice(-80).join('\n')}`;
    expect(out, tail).toMatchObject({ category: 'DEPFAIL', missingDependencies: UNSATISFIABLE_DEPENDENCY });
  }, 600_000);

  it('reports PACKAGEFAIL for a failing build', async () => {
    const out = await build({ variant: 'fail' }).run();
    expect(out.category).toBe('PACKAGEFAIL');
  }, 600_000);

  it('aborts a build, leaving no process behind', async () => {
    const ac = new AbortController();
    const { src, s, run } = build({ variant: 'sleep' }, { signal: ac.signal });
    const running = run();
    await until(() => processesMatching(`sleep ${src.marker}`).length > 0);
    ac.abort();
    const out = await running;
    expect(out.category).toBe('ABORTED');
    // On failure, say what the escalation did (signals sent, survivors reported).
    const steps = s.log.text.split('\n').filter((l) => /Sent SIG|Aborting|WARNING|Nothing left|killed by|exited/.test(l));
    expect(processesMatching(src.marker), steps.join('\n')).toEqual([]);
    // Nor the chroot it unpacked.
    const unpacked = unpackedChrootDir(s.log.text);
    expect(unpacked, s.log.text.slice(0, 4000)).not.toBeNull();
    expect(existsSync(unpacked!)).toBe(false);
  }, 600_000);
});
