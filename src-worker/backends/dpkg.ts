// Host builds: dpkg-source -x, dpkg-checkbuilddeps, dpkg-buildpackage, right on this machine.
// No chroot, no isolation: the package builds with whatever is installed here, as this user.
// Meant for development boxes and the test suite (tiny packages build in about a second).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { collectChanges } from '../collect';
import { readControlFile, upstreamVersion } from '../debian/control-files';
import { classifyCheckbuilddeps } from '../result-classify';
import { runCommand, type KillTimings } from '../run-command';
import type { BuildBackend, BuildOutcome, BuildSpec } from './backend';
import { debBuildOptions, nothingToBuild, stopped } from './build-options';

export interface DpkgBackendOptions {
  kill?: Partial<KillTimings>;
}

/** Master: the full upload (source + arch-dependent + arch-independent). Slave: `-B`, arch-dependent only. */
export function dpkgBuildpackageArgs(spec: Pick<BuildSpec, 'archIndep'>): string[] {
  return ['-us', '-uc', ...(spec.archIndep ? [] : ['-B'])];
}

/** dpkg-checkbuilddeps checks what dpkg-buildpackage will need: `-B` leaves out Build-Depends-Indep. */
export function checkbuilddepsArgs(spec: Pick<BuildSpec, 'archIndep'>): string[] {
  return spec.archIndep ? [] : ['-B'];
}

const BANNER = [
  '+------------------------------------------------------------------------------+',
  '| HOST BUILD (dpkg-buildpackage): NO ISOLATION                                 |',
  '| The package builds directly on the worker machine, as the worker user, with  |',
  '| whatever is installed there. Build dependencies are checked, not installed.  |',
  '+------------------------------------------------------------------------------+',
  '',
].join('\n');

export class DpkgBackend implements BuildBackend {
  readonly name = 'dpkg';
  constructor(private readonly opts: DpkgBackendOptions = {}) {}

  async build(spec: BuildSpec): Promise<BuildOutcome> {
    const { log, signal } = spec;
    const run = (cmd: string, args: string[], cwd?: string, env?: Record<string, string | undefined>) =>
      runCommand(cmd, args, { log, signal, cwd, env, kill: this.opts.kill });
    log.write(BANNER);
    if (spec.archives?.length || spec.trustedKeys?.length) {
      log.write('WARNING: extra archives and trusted keys are ignored by host builds\n');
    }
    mkdirSync(spec.workdir, { recursive: true });

    const host = await run('dpkg', ['--print-architecture']);
    const early = stopped(host, 'dpkg');
    if (early) return early;
    const hostArch = host.output.trim();
    if (!host.ok || !hostArch) return { category: 'BUILDERFAIL', files: [], message: 'cannot determine the host architecture' };
    if (hostArch !== spec.arch) {
      return {
        category: 'BUILDERFAIL',
        files: [],
        message: `a host build can only build for the host architecture (${hostArch}), not ${spec.arch}`,
      };
    }

    let dsc;
    try {
      dsc = readControlFile(spec.dsc);
    } catch (err) {
      return { category: 'PACKAGEFAIL', files: [], message: `cannot read ${spec.dsc}: ${(err as Error).message}` };
    }
    const skip = nothingToBuild(spec, dsc.architecture);
    if (skip) {
      log.write(`${skip}\n`);
      return { category: 'OK', files: [], message: skip };
    }

    const srcdir = join(spec.workdir, `${dsc.source}-${upstreamVersion(dsc.version)}`);
    const unpack = await run('dpkg-source', ['-x', spec.dsc, srcdir]);
    const unpackStop = stopped(unpack, 'dpkg-source');
    if (unpackStop) return unpackStop;
    if (!unpack.ok) return { category: 'PACKAGEFAIL', files: [], message: `dpkg-source -x failed (exit ${unpack.code})` };

    const deps = await run('dpkg-checkbuilddeps', checkbuilddepsArgs(spec), srcdir);
    const depsStop = stopped(deps, 'dpkg-checkbuilddeps');
    if (depsStop) return depsStop;
    const depCheck = classifyCheckbuilddeps(deps.code, deps.output);
    if (depCheck.category !== 'OK') return { ...depCheck, files: [] };

    const build = await run('dpkg-buildpackage', dpkgBuildpackageArgs(spec), srcdir, {
      DEB_BUILD_OPTIONS: debBuildOptions(spec),
    });
    const buildStop = stopped(build, 'dpkg-buildpackage');
    if (buildStop) return buildStop;
    if (!build.ok) return { category: 'PACKAGEFAIL', files: [], message: `dpkg-buildpackage failed (exit ${build.code ?? build.signal})` };

    const results = await collectChanges(spec.workdir, spec.arch);
    if (!results.changesFile || results.problem) {
      return { category: 'PACKAGEFAIL', files: results.files, changesFile: results.changesFile, message: results.problem };
    }
    return { category: 'OK', files: results.files, changesFile: results.changesFile };
  }
}
