// Runs the builder's prep command (launchpad-buildd's `builder-prep` step, and the test hook that
// holds a build in BUILDING) through the worker's one command runner: `RUN:` in the build log,
// its own process group, the whole tree killed on abort and leftovers reaped after it exits.
import type { BuildLog } from '../backends/backend';
import { runCommand } from '../run-command';

export interface PrepResult {
  /** Exit code, or null if a signal ended it. */
  code: number | null;
  aborted: boolean;
}

export async function runPrepCommand(command: string, opts: { log: BuildLog; signal: AbortSignal; env?: Record<string, string> }): Promise<PrepResult> {
  // launchpad-buildd SIGKILLs everything on abort; the prep step has nothing to clean up, so it
  // gets no grace period after SIGINT (a background job of sh ignores SIGINT and would otherwise
  // hold the abort for the default 30 s).
  const r = await runCommand('/bin/sh', ['-c', command], {
    log: opts.log,
    signal: opts.signal,
    env: opts.env,
    kill: { afterInterruptMs: 0, afterTerminateMs: 1000 },
  });
  return { code: r.code, aborted: r.aborted };
}
