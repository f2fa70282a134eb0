// What every source fetcher (pyBit's "VCS handlers", spec/pybit.md §5.3) gets and returns.
import type { BuildLog } from '../backends/backend';
import type { KillTimings } from '../run-command';

export interface SourceRequest {
  /** pyBit transport method: git, svn, apt, dsc. */
  method: string;
  uri: string | null;
  /** Revision, commit or tag; null means the default branch head / latest revision. */
  vcsId: string | null;
  package: string;
  version: string;
  suite: string;
}

export interface FetchContext {
  /** A fresh directory owned by this job: the .dsc and its files end up directly in it. */
  dir: string;
  log: BuildLog;
  signal: AbortSignal;
  /** Log the commands only (pyBit's dry_run). */
  dryRun?: boolean;
  /** apt: the mirror to use when the transport URI is not a mirror URL. */
  mirror?: string;
  /** apt: accept unsigned repositories (`[trusted=yes]`). */
  aptAllowUnauthenticated?: boolean;
  /** apt: components to read sources from (default `main`). */
  aptComponents?: string[];
  kill?: Partial<KillTimings>;
}

export interface FetchedSource {
  /** Path of the .dsc; its files sit beside it. */
  dsc: string;
}

export interface Fetcher {
  readonly method: string;
  fetch(req: SourceRequest, ctx: FetchContext): Promise<FetchedSource>;
}

/** A fetch that failed: the job fails (or counts as aborted when `aborted`). */
export class FetchError extends Error {
  constructor(
    message: string,
    readonly aborted = false,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}
