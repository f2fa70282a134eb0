// Isolated builds with sbuild in unshare mode: each build unpacks a chroot tarball (made by
// mmdebstrap, see chroots.ts) into a throw-away user namespace. No root, no schroot config.
// The outcome comes from sbuild's Summary (Status, Fail-Stage) and apt's dep-wait report.
import { existsSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import { collectChanges } from '../collect';
import { readControlFile } from '../debian/control-files';
import { classifySbuild } from '../result-classify';
import { runCommand, type KillTimings } from '../run-command';
import type { BuildBackend, BuildOutcome, BuildSpec } from './backend';
import { debBuildOptions, nothingToBuild } from './build-options';

export interface SbuildBackendOptions {
  /** The sbuild executable (default `sbuild` on PATH). */
  sbuild?: string;
  /** Appended before the .dsc, e.g. `--no-apt-upgrade`. */
  extraArgs?: string[];
  kill?: Partial<KillTimings>;
}

/**
 * The sbuild command line. Master builds add arch-independent packages and the source
 * (`-A -s`, as pyBit's master); slaves build arch-dependent packages only.
 */
export function sbuildArgs(spec: BuildSpec, keyFiles: string[] = [], extra: string[] = []): string[] {
  const args = ['--chroot-mode=unshare'];
  if (spec.chrootTarball) args.push(`--chroot=${spec.chrootTarball}`);
  args.push('-d', spec.suite, `--arch=${spec.arch}`, '--nolog', `--build-dir=${spec.workdir}`);
  // Deterministic: what runs must not depend on the worker user's ~/.sbuildrc.
  args.push('--no-run-lintian', '--no-run-piuparts', '--no-run-autopkgtest');
  args.push(...(spec.archIndep ? ['-A', '-s'] : ['--no-arch-all', '--no-source']));
  for (const line of spec.archives ?? []) args.push(`--extra-repository=${line}`);
  for (const f of keyFiles) args.push(`--extra-repository-key=${f}`);
  args.push(...extra, spec.dsc);
  return args;
}

/** launchpad-buildd's trusted_keys are base64-encoded OpenPGP keys; sbuild wants files. */
function writeKeyFiles(spec: BuildSpec): string[] {
  if (!spec.trustedKeys?.length) return [];
  const dir = join(spec.workdir, '.buildbox-keys');
  mkdirSync(dir, { recursive: true });
  return spec.trustedKeys.map((k, i) => {
    const file = join(dir, `key-${i}.gpg`);
    writeFileSync(file, Buffer.from(k, 'base64'));
    return file;
  });
}

/**
 * The directory sbuild unpacked the chroot tarball into (`Unpacking <tarball> to
 * /tmp/tmp.sbuild.XXXX...`), when its output names one of its own making.
 */
export function unpackedChrootDir(output: string): string | null {
  const m = /^Unpacking \S+ to (\S+?)\.\.\.$/m.exec(output);
  const dir = m?.[1];
  return dir && isAbsolute(dir) && /^tmp\.sbuild\.[A-Za-z0-9_]+$/.test(basename(dir)) ? dir : null;
}

/**
 * sbuild removes its unpacked chroot when it ends, unless it is killed first: a cancel whose
 * clean-up outlasts the kill escalation (a slow disk, a loaded machine) would leave a few
 * hundred MB behind in /tmp every time. Whatever is left once sbuild is gone is removed here.
 */
async function removeLeftChroot(output: string, log: BuildSpec['log']): Promise<void> {
  const dir = unpackedChrootDir(output);
  if (!dir || !existsSync(dir) || !lstatSync(dir).isDirectory()) return;
  log.write(`Removing the unpacked chroot sbuild left behind: ${dir}\n`);
  await rm(dir, { recursive: true, force: true }).catch((e: Error) => log.write(`WARNING: could not remove ${dir}: ${e.message}\n`));
}

export class SbuildBackend implements BuildBackend {
  readonly name = 'sbuild';
  constructor(private readonly opts: SbuildBackendOptions = {}) {}

  async build(spec: BuildSpec): Promise<BuildOutcome> {
    const { log, signal } = spec;
    if (!spec.chrootTarball) {
      return { category: 'CHROOTFAIL', files: [], message: `no chroot tarball for ${spec.buildEnv ? `${spec.buildEnv}-` : ''}${spec.suite}/${spec.arch}` };
    }
    mkdirSync(spec.workdir, { recursive: true });
    try {
      const skip = nothingToBuild(spec, readControlFile(spec.dsc).architecture);
      if (skip) {
        log.write(`${skip}\n`);
        return { category: 'OK', files: [], message: skip };
      }
    } catch (err) {
      return { category: 'PACKAGEFAIL', files: [], message: `cannot read ${spec.dsc}: ${(err as Error).message}` };
    }

    const run = await runCommand(this.opts.sbuild ?? 'sbuild', sbuildArgs(spec, writeKeyFiles(spec), this.opts.extraArgs), {
      log,
      signal,
      cwd: spec.workdir,
      env: { DEB_BUILD_OPTIONS: debBuildOptions(spec) },
      kill: this.opts.kill,
      // The summary and apt's dep-wait report come last; the package build before them can be huge.
      captureChars: 4 * 1024 * 1024,
    });
    await removeLeftChroot(run.output, log);
    const c = classifySbuild(run);
    if (c.category !== 'OK') return { ...c, files: [] };
    if (c.message) return { category: 'OK', files: [], message: c.message }; // skipped

    const results = await collectChanges(spec.workdir, spec.arch);
    if (!results.changesFile || results.problem) {
      return { category: 'PACKAGEFAIL', files: results.files, changesFile: results.changesFile, message: results.problem };
    }
    return { category: 'OK', files: results.files, changesFile: results.changesFile };
  }
}
