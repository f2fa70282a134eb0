// Decisions shared by the backends: what a master/slave build covers, and DEB_BUILD_OPTIONS.
import type { BuildOutcome, BuildSpec } from './backend';
import type { RunResult } from '../run-command';

/**
 * launchpad-buildd: without debug symbols, `noautodbgsym` is added to DEB_BUILD_OPTIONS;
 * with them, the worker's own setting is passed through unchanged.
 */
export function debBuildOptions(spec: Pick<BuildSpec, 'debugSymbols'>, inherited = process.env.DEB_BUILD_OPTIONS): string | undefined {
  const words = (inherited ?? '').split(/\s+/).filter(Boolean);
  if (!spec.debugSymbols && !words.includes('noautodbgsym')) words.push('noautodbgsym');
  return words.length ? words.join(' ') : undefined;
}

/** True when a .dsc's Architecture field names anything besides `all`. */
export function hasArchDependent(architectures: string[]): boolean {
  return architectures.some((a) => a !== 'all');
}

/** A slave build (arch-dependent only) of an `Architecture: all` package has nothing to do. */
export function nothingToBuild(spec: Pick<BuildSpec, 'archIndep'>, architectures: string[]): string | null {
  if (!spec.archIndep && architectures.length > 0 && !hasArchDependent(architectures)) {
    return 'the package is Architecture: all only and this is an arch-dependent (slave) build: nothing to build';
  }
  return null;
}

/** The common early exits after running a command: abort and "could not start". */
export function stopped(r: RunResult, what: string): BuildOutcome | null {
  if (r.aborted) return { category: 'ABORTED', files: [], message: 'build aborted' };
  if (r.spawnError) return { category: 'BUILDERFAIL', files: [], message: `cannot run ${what}: ${r.spawnError}` };
  return null;
}
