// Requeues jobs whose worker stopped renewing its lease (it died, or lost the network): the job
// goes back to Waiting and its BuildRequest is published again, so another worker builds it.
// A job whose cancel was requested meanwhile becomes Cancelled instead. Building jobs without a
// lease (pyBit clients that PUT status=Building) are never touched. Every move is a conditional
// UPDATE on the exact lease that expired, so a heartbeat that renews it first, or a second
// controller on the same database, wins cleanly.
import type { Ctx } from '../context';
import { nowText } from '../db/time';
import { appendStatus, emitStatusChanges, type StatusChange } from './job-status';
import { buildRequestForJob } from './models';
import { enqueueBuildRequest } from './outbox';

export interface SweepResult {
  requeued: number[];
  cancelled: number[];
}

export async function sweepExpiredLeases(ctx: Ctx, limit = 100): Promise<SweepResult> {
  const db = ctx.db.kysely;
  const now = nowText();
  const expired = await db
    .selectFrom('job')
    .select(['id', 'lease_owner', 'lease_expires_at', 'cancel_requested_at'])
    .where('status', '=', 'Building')
    .where('lease_owner', 'is not', null)
    .where('lease_expires_at', '<', now)
    .orderBy('lease_expires_at')
    .limit(limit)
    .execute();
  const out: SweepResult = { requeued: [], cancelled: [] };
  const changes: StatusChange[] = [];
  for (const j of expired) {
    const cancel = j.cancel_requested_at != null;
    const change = await db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('job')
        .set({
          lease_owner: null,
          lease_expires_at: null,
          cancel_requested_at: null,
          result_details: `the lease of ${j.lease_owner} expired at ${j.lease_expires_at} UTC`,
        })
        .where('id', '=', j.id)
        .where('status', '=', 'Building')
        .where('lease_owner', '=', j.lease_owner)
        .where('lease_expires_at', '=', j.lease_expires_at)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      if (cancel) return appendStatus(ctx, tx, j.id, 'Cancelled');
      const c = await appendStatus(ctx, tx, j.id, 'Waiting');
      const msg = await buildRequestForJob(tx, j.id, ctx.config.webHost);
      if (msg) await enqueueBuildRequest(tx, j.id, msg);
      return c;
    });
    if (!change) continue;
    changes.push(change);
    (cancel ? out.cancelled : out.requeued).push(j.id);
  }
  if (changes.length) {
    emitStatusChanges(ctx, changes);
    if (out.requeued.length) {
      ctx.events.emit({ type: 'outbox.pending' });
      ctx.log.warn(`requeued ${out.requeued.length} job(s) whose worker lease expired: ${out.requeued.join(', ')}`);
    }
    if (out.cancelled.length) ctx.log.info(`cancelled ${out.cancelled.length} job(s) whose worker went away during a cancel: ${out.cancelled.join(', ')}`);
  }
  return out;
}
