// Chroot tarballs for sbuild's unshare mode, one per (chroot name, arch), in one directory:
// `<name>-<arch>.tar.zst` — the names sbuild itself looks for in ~/.cache/sbuild. The chroot
// name follows pyBit (§5.4): `<env>-<suite>` for jobs with a build environment, else `<suite>`.
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { BuildLog } from './backends/backend';
import { runCommand, type KillTimings, type RunResult } from './run-command';

export interface ChrootTarball {
  /** `<suite>` or `<env>-<suite>`. */
  name: string;
  arch: string;
  path: string;
}

const TARBALL = /^(.+)-([a-z0-9]+)\.tar(?:\.(?:zst|xz|gz|bz2|lz4))?$/;
const EXTENSION_PREFERENCE = ['.tar.zst', '.tar.xz', '.tar.gz', '.tar.bz2', '.tar.lz4', '.tar'];
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;

/**
 * Where chroot tarballs are made and looked for unless told otherwise: $BUILDBOX_CHROOTS, else
 * sbuild's own ~/.cache/sbuild (honouring XDG_CACHE_HOME).
 */
export function defaultChrootsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.BUILDBOX_CHROOTS || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sbuild');
}

export function chrootName(suite: string, buildEnv?: string | null): string {
  return buildEnv ? `${buildEnv}-${suite}` : suite;
}

export function tarballFileName(name: string, arch: string): string {
  if (!SAFE_NAME.test(name) || !SAFE_NAME.test(arch)) throw new Error(`unsafe chroot name or arch: ${name} ${arch}`);
  return `${name}-${arch}.tar.zst`;
}

/** Every chroot tarball in `dir` (partial files, which start with a dot, are skipped). */
export function listChroots(dir: string): ChrootTarball[] {
  if (!existsSync(dir)) return [];
  const out: ChrootTarball[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (f.startsWith('.')) continue;
    const m = TARBALL.exec(f);
    if (m) out.push({ name: m[1], arch: m[2], path: join(dir, f) });
  }
  return out;
}

/** The tarball for a job: `<env>-<suite>-<arch>` first, then `<suite>-<arch>`. */
export function findChroot(dir: string, want: { suite: string; arch: string; buildEnv?: string | null }): ChrootTarball | undefined {
  const all = listChroots(dir);
  const names = want.buildEnv ? [chrootName(want.suite, want.buildEnv), want.suite] : [want.suite];
  for (const name of names) {
    const hits = all.filter((c) => c.name === name && c.arch === want.arch);
    const rank = (c: ChrootTarball) => EXTENSION_PREFERENCE.findIndex((e) => c.path.endsWith(e));
    hits.sort((a, b) => rank(a) - rank(b));
    if (hits[0]) return hits[0];
  }
  return undefined;
}

export interface CreateChrootOptions {
  dir: string;
  /** The Debian suite (codename) to bootstrap, e.g. `bookworm`. */
  suite: string;
  /** The chroot name to file it under (default: the suite), e.g. `development` or `wheezy-development`. */
  name?: string;
  arch: string;
  mirror?: string;
  log: BuildLog;
  signal?: AbortSignal;
  dryRun?: boolean;
  kill?: Partial<KillTimings>;
}

/**
 * `mmdebstrap --variant=buildd --arch=<arch> <suite> <file>.tar.zst [mirror]`, written under a
 * hidden partial name and renamed when complete, so a half-written tarball is never chosen.
 */
export async function createChrootTarball(opts: CreateChrootOptions): Promise<{ result: RunResult; chroot?: ChrootTarball }> {
  const name = opts.name ?? opts.suite;
  const file = tarballFileName(name, opts.arch);
  const final = join(opts.dir, file);
  const partial = join(opts.dir, `.partial-${file}`); // mmdebstrap picks the format from the extension
  const args = ['--variant=buildd', `--arch=${opts.arch}`, opts.suite, partial, ...(opts.mirror ? [opts.mirror] : [])];
  const result = await runCommand('mmdebstrap', args, { log: opts.log, signal: opts.signal, dryRun: opts.dryRun, kill: opts.kill });
  if (!result.ok || opts.dryRun) {
    rmSync(partial, { force: true });
    return { result };
  }
  renameSync(partial, final);
  return { result, chroot: { name, arch: opts.arch, path: final } };
}
