// Turning a checked-out tree (git, svn) into a source package with `dpkg-source -b`, so that
// every backend gets the same input: a .dsc with its files beside it.
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { readControlFile, versionWithoutEpoch } from '../debian/control-files';
import { runCommand, type RunOptions, type RunResult } from '../run-command';
import { FetchError, type FetchContext, type SourceRequest } from './fetcher';

export function runOpts(ctx: FetchContext, extra: Partial<RunOptions> = {}): RunOptions {
  return { log: ctx.log, signal: ctx.signal, dryRun: ctx.dryRun, kill: ctx.kill, ...extra };
}

/** Throws the right FetchError for a failed step. */
export function check(r: RunResult, what: string): void {
  if (r.aborted) throw new FetchError(`${what}: aborted`, true);
  if (r.spawnError) throw new FetchError(`${what}: cannot run: ${r.spawnError}`);
  if (!r.ok) throw new FetchError(`${what} failed (exit ${r.code ?? r.signal})`);
}

/** The file a fetch is expected to produce (what dry runs report). */
export function expectedDsc(ctx: FetchContext, req: SourceRequest): string {
  return join(ctx.dir, `${req.package}_${versionWithoutEpoch(req.version)}.dsc`);
}

/** Finds the single .dsc in ctx.dir and warns if it is not the requested package/version. */
export function findDsc(ctx: FetchContext, req: SourceRequest): string {
  const dscs = readdirSync(ctx.dir).filter((n) => n.endsWith('.dsc'));
  if (dscs.length !== 1) throw new FetchError(`expected one .dsc in ${ctx.dir}, found ${dscs.length}`);
  const path = join(ctx.dir, dscs[0]);
  const info = readControlFile(path);
  if (info.source !== req.package || info.version !== req.version) {
    ctx.log.write(`WARNING: requested ${req.package} ${req.version} but the source is ${info.source} ${info.version}\n`);
  }
  return path;
}

/**
 * The package directory `subdir` of a checkout ('' = the checkout itself). It must exist and,
 * with symbolic links resolved, stay inside the checkout: a link in the repository must not
 * make the worker package files from elsewhere on its disk.
 */
export function packageDirIn(checkout: string, subdir: string, ctx: FetchContext, where: string): string {
  if (!subdir) return checkout;
  const tree = join(checkout, subdir);
  if (ctx.dryRun) return tree;
  let real: string;
  try {
    real = realpathSync(tree);
  } catch {
    throw new FetchError(`the repository has no directory ${subdir} ${where}`);
  }
  if (!real.startsWith(realpathSync(checkout) + sep)) throw new FetchError(`${subdir} leads outside the repository (through a symbolic link)`);
  if (!statSync(real).isDirectory()) throw new FetchError(`${subdir} is not a directory ${where}`);
  return real;
}

/** `dpkg-source -b <tree>` run in ctx.dir, so the .dsc and tarballs land there. */
export async function buildSourcePackage(tree: string, ctx: FetchContext, req: SourceRequest): Promise<string> {
  const r = await runCommand('dpkg-source', ['-b', tree], runOpts(ctx, { cwd: ctx.dir }));
  check(r, 'dpkg-source -b');
  return ctx.dryRun ? expectedDsc(ctx, req) : findDsc(ctx, req);
}

/** URIs and revisions go on command lines: one starting with "-" would be read as an option. */
export function assertNotOption(value: string, what: string): void {
  if (value.startsWith('-')) throw new FetchError(`${what} must not start with "-": ${JSON.stringify(value)}`);
}
