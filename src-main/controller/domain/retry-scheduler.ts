// DEPFAIL back-off: a Blocked job carries retry_at; once it has passed, the job goes back to
// Waiting and its BuildRequest is published again. Each move is one conditional UPDATE, so two
// controllers on one database never retry the same job twice.
import type { Ctx, ControllerConfig } from '../context';
import { nowText, toDbTime } from '../db/time';
import { appendStatus, emitStatusChanges, type StatusChange } from './job-status';
import { buildRequestForJob } from './models';
import { enqueueBuildRequest } from './outbox';

export const DEFAULT_RETRY_BASE_SECONDS = 60;
export const DEFAULT_RETRY_MAX_SECONDS = 3600;

/** Delay before the retry after the `attempt`-th dependency failure: base·2^(attempt-1), capped. */
export function retryDelaySeconds(config: Pick<ControllerConfig, 'retryBaseSeconds' | 'retryMaxSeconds'>, attempt: number): number {
  const base = config.retryBaseSeconds ?? DEFAULT_RETRY_BASE_SECONDS;
  const max = config.retryMaxSeconds ?? DEFAULT_RETRY_MAX_SECONDS;
  const n = Math.max(1, Math.min(attempt, 40));
  return Math.min(max, base * 2 ** (n - 1));
}

export function retryAtFor(config: Pick<ControllerConfig, 'retryBaseSeconds' | 'retryMaxSeconds'>, attempt: number, now = Date.now()): string {
  return toDbTime(new Date(now + retryDelaySeconds(config, attempt) * 1000));
}

/** Moves every Blocked job whose retry time has come back to Waiting. Returns the job ids moved. */
export async function retryDueJobs(ctx: Ctx, limit = 100): Promise<number[]> {
  const db = ctx.db.kysely;
  const now = nowText();
  const due = await db
    .selectFrom('job')
    .select(['id', 'retry_at'])
    .where('status', '=', 'Blocked')
    .where('retry_at', 'is not', null)
    .where('retry_at', '<=', now)
    .orderBy('retry_at')
    .limit(limit)
    .execute();
  const moved: number[] = [];
  const changes: StatusChange[] = [];
  for (const j of due) {
    const change = await db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('job')
        .set({ retry_at: null })
        .where('id', '=', j.id)
        .where('status', '=', 'Blocked')
        .where('retry_at', '=', j.retry_at)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      const c = await appendStatus(ctx, tx, j.id, 'Waiting');
      const msg = await buildRequestForJob(tx, j.id, ctx.config.webHost);
      if (msg) await enqueueBuildRequest(tx, j.id, msg);
      return c;
    });
    if (change) {
      moved.push(j.id);
      changes.push(change);
    }
  }
  if (moved.length) {
    emitStatusChanges(ctx, changes);
    ctx.events.emit({ type: 'outbox.pending' });
    ctx.log.info(`retrying ${moved.length} blocked job(s) after their back-off: ${moved.join(', ')}`);
  }
  return moved;
}
