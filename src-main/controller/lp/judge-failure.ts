// Launchpad's failure accounting for builders and jobs (spec launchpad-buildd.md §6.3): after a
// failure counts, compare the builder's and the job's failure counts to decide who is at fault.

/** A scan may fail this many times in a row with no consequence (network glitches). */
export const SCAN_FAILURE_THRESHOLD = 5;
/** Equal counts below this: just retry the job on the same builder. */
export const JOB_RESET_THRESHOLD = 3;
/** A builder more at fault than its job is disabled once its count reaches this. */
export const BUILDER_FAILURE_THRESHOLD = 5;

/** The builder and the job could not have been kept apart: fail both at once. */
export class BuildDaemonIsolationError extends Error {
  override name = 'BuildDaemonIsolationError';
}

/** Anything else the builder did wrong (unexpected states, GIVENBACK, BUILDERFAIL, ...). */
export class BuildDaemonError extends Error {
  override name = 'BuildDaemonError';
}

/** true = reset (builder: mark dirty; job: requeue), false = fail (builder: disable; job: fail), null = nothing. */
export type Action = boolean | null;

export function judgeFailure(builderCount: number, jobCount: number, exc: unknown, retry = true): [builder: Action, job: Action] {
  if (exc instanceof BuildDaemonIsolationError) return [false, false];
  if (builderCount === jobCount) {
    // Can't tell who is at fault: retry a few times, then try the job elsewhere.
    if (retry && jobCount < JOB_RESET_THRESHOLD) return [null, null];
    return [null, true];
  }
  if (builderCount > jobCount) {
    // The builder has failed more than the job: requeue the job, and disable the builder once
    // it has failed often enough.
    return builderCount < BUILDER_FAILURE_THRESHOLD ? [true, true] : [false, true];
  }
  // The job has failed more than the builder: the job is the problem.
  return [null, false];
}
