// Host builds: dpkg-source -x, then dpkg-buildpackage, right on this machine.
// No chroot, no isolation: the package builds with whatever is installed here, as this user.
// Meant for development boxes and the test suite (tiny packages build in about a second).
// dpkg-buildpackage checks the build dependencies itself (the same dpkg-checkbuilddeps, with -B
// for a slave); its refusal is parsed into DEPFAIL rather than paying for a separate
// dpkg-checkbuilddeps run (a Perl start-up, ~0.1 s) on every build.
import { execFile } from 'node:child_process';
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

/** What dpkg-buildpackage prints when its own dpkg-checkbuilddeps run fails. */
const UNSATISFIED = /^dpkg-buildpackage: (?:warning|error): build dependencies\/conflicts unsatisfied/m;

let hostArchitecture: Promise<string> | null = null;
/** `dpkg --print-architecture`, asked once per process: it cannot change under a running worker. */
function hostArch(): Promise<string> {
  hostArchitecture ??= new Promise((resolve) => {
    execFile('dpkg', ['--print-architecture'], (err, stdout) => resolve(err ? '' : stdout.trim()));
  }).then((a) => {
    if (!a) hostArchitecture = null; // try again next time
    return a as string;
  });
  return hostArchitecture;
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

    const host = await hostArch();
    if (!host) return { category: 'BUILDERFAIL', files: [], message: 'cannot determine the host architecture (dpkg --print-architecture failed)' };
    log.write(`Host architecture: ${host}\n`);
    if (host !== spec.arch) {
      return {
        category: 'BUILDERFAIL',
        files: [],
        message: `a host build can only build for the host architecture (${host}), not ${spec.arch}`,
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

    const build = await run('dpkg-buildpackage', dpkgBuildpackageArgs(spec), srcdir, {
      DEB_BUILD_OPTIONS: debBuildOptions(spec),
    });
    const buildStop = stopped(build, 'dpkg-buildpackage');
    if (buildStop) return buildStop;
    if (!build.ok && UNSATISFIED.test(build.output)) {
      const depCheck = classifyCheckbuilddeps(build.code, build.output);
      if (depCheck.category === 'DEPFAIL') return { ...depCheck, files: [] };
    }
    if (!build.ok) return { category: 'PACKAGEFAIL', files: [], message: `dpkg-buildpackage failed (exit ${build.code ?? build.signal})` };

    const results = await collectChanges(spec.workdir, spec.arch);
    if (!results.changesFile || results.problem) {
      return { category: 'PACKAGEFAIL', files: results.files, changesFile: results.changesFile, message: results.problem };
    }
    return { category: 'OK', files: results.files, changesFile: results.changesFile };
  }
}
