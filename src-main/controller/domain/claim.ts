// A Buildbox worker's hold on a job: claim (Waiting/Blocked → Building with a lease, in one
// conditional UPDATE), heartbeat (renew the lease; tell the worker to stop when the job was
// cancelled or the lease is gone) and finish (only the lease owner reports the outcome).
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema';
import type { Ctx } from '../context';
import { nowText, toDbTime } from '../db/time';
import { HttpError } from '../http/errors';
import type { BuildRequest } from '@shared/pybit-models';
import type { FinishRequest, FinishResponse, HeartbeatResponse } from '@shared/worker-api';
import { appendStatus, emitStatusChanges, type StatusChange } from './job-status';
import { buildRequestForJob } from './models';
import { enqueueBuildRequest } from './outbox';
import { retryAtFor } from './retry-scheduler';

/** A refusal with a JSON body that says why (WorkerConflict). */
export class WorkerConflictError extends HttpError {
  constructor(
    message: string,
    readonly details: { status?: string; leaseOwner?: string | null; length?: number },
    statusCode = 409,
  ) {
    super(statusCode, message);
  }
}

const CLAIMABLE = ['Waiting', 'Blocked'];

async function clientId(tx: Transaction<Database>, name: string, now: string): Promise<number> {
  const row = await tx
    .insertInto('buildclients')
    .values({ name, last_seen: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ last_seen: now }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface Claim {
  jobId: number;
  request: BuildRequest;
  leaseSeconds: number;
  leaseExpiresAt: string;
  attempt: number;
}

export async function claimJob(ctx: Ctx, jobId: number, worker: string, afterCommit?: () => Promise<void>): Promise<Claim> {
  const db = ctx.db.kysely;
  const leaseSeconds = ctx.config.leaseSeconds;
  const result = await db.transaction().execute(async (tx) => {
    const before = await tx.selectFrom('job').select(['status', 'lease_owner']).where('id', '=', jobId).executeTakeFirst();
    if (!before) throw new HttpError(404, `no job ${jobId}`);
    if (!CLAIMABLE.includes(before.status)) {
      throw new WorkerConflictError(claimRefusal(jobId, before.status, before.lease_owner, worker), { status: before.status, leaseOwner: before.lease_owner });
    }
    const now = new Date();
    const time = toDbTime(now);
    const expires = toDbTime(new Date(now.getTime() + leaseSeconds * 1000));
    const cid = await clientId(tx, worker, time);
    // The claim itself: whoever's UPDATE matches first wins; the others match no row.
    const r = await tx
      .updateTable('job')
      .set((eb) => ({
        status: 'Building',
        buildclient_id: cid,
        lease_owner: worker,
        lease_expires_at: expires,
        attempts: eb('attempts', '+', 1),
        retry_at: null,
        result: null,
        result_details: null,
        cancel_requested_at: null,
        updated_at: time,
      }))
      .where('id', '=', jobId)
      .where('status', 'in', CLAIMABLE)
      .returning('attempts')
      .executeTakeFirst();
    if (!r) {
      const now2 = await tx.selectFrom('job').select(['status', 'lease_owner']).where('id', '=', jobId).executeTakeFirst();
      throw new WorkerConflictError(claimRefusal(jobId, now2?.status ?? 'unknown', now2?.lease_owner ?? null, worker), {
        status: now2?.status,
        leaseOwner: now2?.lease_owner ?? null,
      });
    }
    // The history row. The UPDATE above already set the job's status, client and time (what
    // appendStatus would do again), so only the row is written: the claim is the hot path of
    // dispatch, and every statement here is latency a worker waits for.
    const statusId = await ctx.statuses.id('Building');
    if (statusId === undefined) throw new HttpError(500, "the status table has no 'Building'");
    await tx.insertInto('jobstatus').values({ job_id: jobId, status_id: statusId, time }).execute();
    const change: StatusChange = { jobId, status: 'Building', previous: before.status, client: worker };
    const request = await buildRequestForJob(tx, jobId, ctx.config.webHost);
    if (!request) throw new HttpError(404, `no job ${jobId}`);
    return { change, claim: { jobId, request, leaseSeconds, leaseExpiresAt: expires, attempt: r.attempts } };
  });
  if (afterCommit) await afterCommit().catch((e) => ctx.log.error(`job ${jobId}: after the claim: ${(e as Error).message}`));
  emitStatusChanges(ctx, [result.change]);
  return result.claim;
}

function claimRefusal(jobId: number, status: string, owner: string | null, worker: string): string {
  if (status === 'Cancelled') return `job ${jobId} was cancelled`;
  if (status === 'Building') {
    return owner === worker ? `job ${jobId} is already being built by this worker` : `job ${jobId} is already being built${owner ? ` by ${owner}` : ''}`;
  }
  return `job ${jobId} is ${status}; only Waiting or Blocked jobs can be claimed`;
}

export async function heartbeat(ctx: Ctx, jobId: number, worker: string): Promise<HeartbeatResponse> {
  const db = ctx.db.kysely;
  const now = new Date();
  const expires = toDbTime(new Date(now.getTime() + ctx.config.leaseSeconds * 1000));
  // Renewing an expired lease the sweeper has not reached yet is fine: the worker is alive.
  const r = await db
    .updateTable('job')
    .set({ lease_expires_at: expires })
    .where('id', '=', jobId)
    .where('status', '=', 'Building')
    .where('lease_owner', '=', worker)
    .executeTakeFirst();
  const job = await db.selectFrom('job').select(['status', 'lease_owner', 'lease_expires_at', 'cancel_requested_at']).where('id', '=', jobId).executeTakeFirst();
  if (!job) throw new HttpError(404, `no job ${jobId}`);
  await touchWorker(ctx, worker, toDbTime(now));
  if (Number(r.numUpdatedRows) === 1 && job.lease_owner === worker) {
    if (job.cancel_requested_at) return { leaseExpiresAt: job.lease_expires_at, stop: true, status: 'Cancelled', reason: 'cancelled' };
    return { leaseExpiresAt: job.lease_expires_at, stop: false, status: job.status };
  }
  if (job.status === 'Cancelled') return { leaseExpiresAt: null, stop: true, status: job.status, reason: 'cancelled' };
  return { leaseExpiresAt: null, stop: true, status: job.status, reason: 'lease-lost' };
}

async function touchWorker(ctx: Ctx, worker: string, time: string): Promise<void> {
  await ctx.db.kysely.updateTable('workers').set({ last_seen: time }).where('name', '=', worker).execute();
}

const DEFAULT_RESULT: Record<FinishRequest['status'], string> = {
  Done: 'OK',
  Uploaded: 'OK',
  Failed: 'PACKAGEFAIL',
  Blocked: 'DEPFAIL',
  Cancelled: 'ABORTED',
};

/**
 * The lease owner's outcome. DEPFAIL (Blocked) schedules a retry with back-off; GIVENBACK puts
 * the job straight back to Waiting and republishes it. The same report sent again is a no-op.
 */
export async function finishJob(ctx: Ctx, jobId: number, req: FinishRequest): Promise<FinishResponse> {
  const db = ctx.db.kysely;
  const givenBack = req.result === 'GIVENBACK';
  const result = req.result ?? DEFAULT_RESULT[req.status];
  const details = req.details ?? null;
  const out = await db.transaction().execute(async (tx) => {
    const job = await tx
      .selectFrom('job as j')
      .leftJoin('buildclients as bc', 'bc.id', 'j.buildclient_id')
      .select(['j.status', 'j.lease_owner', 'j.attempts', 'j.result', 'j.retry_at', 'bc.name as client'])
      .where('j.id', '=', jobId)
      .executeTakeFirst();
    if (!job) throw new HttpError(404, `no job ${jobId}`);
    if (job.status !== 'Building' || job.lease_owner !== req.worker) {
      // A resend of a report already taken: same client, and the job is where that report put it.
      const expected = givenBack ? 'Waiting' : req.status;
      if (job.client === req.worker && job.lease_owner == null && job.status === expected && (job.result ?? null) === result) {
        return { changes: [] as StatusChange[], requeued: false, res: { status: job.status, result: job.result, retryAt: job.retry_at, repeated: true } };
      }
      const why =
        job.status === 'Building'
          ? `job ${jobId} is leased by ${job.lease_owner ?? 'a pyBit client'}, not by ${req.worker}`
          : `job ${jobId} is ${job.status}; ${req.worker} holds no lease on it`;
      throw new WorkerConflictError(why, { status: job.status, leaseOwner: job.lease_owner });
    }
    const now = nowText();
    const status = givenBack ? 'Waiting' : req.status;
    const retryAt = status === 'Blocked' ? retryAtFor(ctx.config, job.attempts) : null;
    // Conditional on the lease still being ours: the sweeper may have taken it a moment ago.
    const r = await tx
      .updateTable('job')
      .set({ result, result_details: details, retry_at: retryAt, cancel_requested_at: null, lease_owner: null, lease_expires_at: null })
      .where('id', '=', jobId)
      .where('status', '=', 'Building')
      .where('lease_owner', '=', req.worker)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new WorkerConflictError(`job ${jobId}: the lease of ${req.worker} ended before the report`, { status: job.status });
    const change = await appendStatus(ctx, tx, jobId, status, { time: now, clientName: req.worker });
    let requeued = false;
    if (status === 'Waiting') {
      const msg = await buildRequestForJob(tx, jobId, ctx.config.webHost);
      if (msg) {
        await enqueueBuildRequest(tx, jobId, msg);
        requeued = true;
      }
    }
    return { changes: [change], requeued, res: { status, result, retryAt, repeated: false } };
  });
  emitStatusChanges(ctx, out.changes);
  if (out.requeued) ctx.events.emit({ type: 'outbox.pending' });
  return out.res;
}
