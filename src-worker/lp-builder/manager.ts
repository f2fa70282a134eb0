// What a build manager type (launchpad-buildd's `binarypackage`, `sourcepackagerecipe`, ...) must
// provide. The builder state machine is generic; a manager turns the build() arguments into a job
// (validating everything first, so a refused call leaves the builder IDLE) and runs it.
import type { BuildBackend, BuildLog } from '../backends/backend';
import type { ResultCategory } from '@shared/statuses';
import type { XmlRpcStruct } from './xmlrpc';
import type { FileCache } from './file-cache';

export interface ManagerContext {
  cache: FileCache;
  archTag: string;
  backend: BuildBackend;
  /** Parent directory of per-build work directories. */
  workRoot: string;
  /** Where chroot tarballs converted for a backend are kept (one per chroot SHA-1). */
  chrootDir: string;
}

export interface BuildRequest {
  buildId: string;
  chrootsum: string;
  /** {file name in the build directory: cache name}; every value is known to be cached. */
  filemap: Record<string, string>;
  args: XmlRpcStruct;
}

export interface ManagerResult {
  category: ResultCategory;
  /** {output file name: SHA-1 in the cache}. */
  filemap: Record<string, string>;
  /** DEPFAIL: the unsatisfied relation; "" otherwise. */
  dependencies: string;
  /** Cache entries this build created (clean() deletes exactly these). */
  createdEntries: string[];
}

export interface ManagerJob {
  /** Private builds get their logs scrubbed (§3.6). */
  readonly sanitiseLogs: boolean;
  /** Written as the first line of the build log, if given. */
  readonly buildUrl?: string;
  run(log: BuildLog, signal: AbortSignal): Promise<ManagerResult>;
  /** Removes the build's work directory; safe to call more than once. */
  teardown(): Promise<void>;
}

export interface BuildManagerType {
  readonly tag: string;
  /** Validates the request; throws BuilderRefusal (fault 8002) for anything unusable. */
  prepare(req: BuildRequest, ctx: ManagerContext): ManagerJob;
}

export function failedResult(category: ResultCategory, dependencies = ''): ManagerResult {
  return { category, filemap: {}, dependencies, createdEntries: [] };
}
