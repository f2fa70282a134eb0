// The buildd-manager's view of jobs on builders (Launchpad's BuildQueue): which builder runs a
// job under which cookie, and the moves a scan makes on it. Status changes go through the same
// claim/finish code Buildbox workers use, so the database decides every race.
import type { Ctx } from '../context';
import { nowText } from '../db/time';
import { finishJob } from '../domain/claim';
import { appendStatus, emitStatusChanges, type StatusChange } from '../domain/job-status';
import { buildRequestForJob } from '../domain/models';
import { enqueueBuildRequest } from '../domain/outbox';
import type { FinishRequest } from '@shared/worker-api';
import type { BuilderRow } from './registry';

export interface AssignedJob {
  job_id: number;
  builder_id: number | null;
  cookie: string | null;
  failure_count: number;
  abort_sent_at: string | null;
  status: string;
  lease_owner: string | null;
}

/** The cookie a build runs under on the builder (Launchpad: `<JOBTYPE>-<build id>`). */
export function cookieFor(jobId: number): string {
  return `PACKAGEBUILD-${jobId}`;
}

export async function assignedJob(ctx: Ctx, builderId: number): Promise<AssignedJob | undefined> {
  const r = await ctx.db.kysely
    .selectFrom('builder_jobs as bj')
    .innerJoin('job as j', 'j.id', 'bj.job_id')
    .select(['bj.job_id', 'bj.builder_id', 'bj.cookie', 'bj.failure_count', 'bj.abort_sent_at', 'j.status', 'j.lease_owner'])
    .where('bj.builder_id', '=', builderId)
    .orderBy('bj.job_id')
    .executeTakeFirst();
  return r ? { ...r, failure_count: Number(r.failure_count) } : undefined;
}

export async function assign(ctx: Ctx, jobId: number, builderId: number, cookie: string): Promise<void> {
  const now = nowText();
  await ctx.db.kysely
    .insertInto('builder_jobs')
    .values({ job_id: jobId, builder_id: builderId, cookie, logtail: null, dispatched_at: now, abort_sent_at: null })
    .onConflict((oc) => oc.column('job_id').doUpdateSet({ builder_id: builderId, cookie, logtail: null, dispatched_at: now, abort_sent_at: null }))
    .execute();
}

/** The builder no longer runs the job (the job row keeps its failure count). */
export async function unassign(ctx: Ctx, jobId: number): Promise<void> {
  await ctx.db.kysely.updateTable('builder_jobs').set({ builder_id: null, abort_sent_at: null }).where('job_id', '=', jobId).execute();
}

export async function setLogtail(ctx: Ctx, jobId: number, logtail: string): Promise<void> {
  await ctx.db.kysely.updateTable('builder_jobs').set({ logtail }).where('job_id', '=', jobId).execute();
}

export async function markAbortSent(ctx: Ctx, jobId: number): Promise<void> {
  await ctx.db.kysely.updateTable('builder_jobs').set({ abort_sent_at: nowText() }).where('job_id', '=', jobId).execute();
}

export async function bumpJobFailures(ctx: Ctx, jobId: number): Promise<number> {
  await ctx.db.kysely.updateTable('builder_jobs').set((eb) => ({ failure_count: eb('failure_count', '+', 1) })).where('job_id', '=', jobId).execute();
  const r = await ctx.db.kysely.selectFrom('builder_jobs').select('failure_count').where('job_id', '=', jobId).executeTakeFirst();
  return Number(r?.failure_count ?? 0);
}

/**
 * Launchpad's BuildQueue.reset(): the job goes back to Waiting (and is published again, so an
 * AMQP worker may take it too), the builder lets go of it. Only while this builder holds the lease.
 */
export async function resetJob(ctx: Ctx, b: BuilderRow, jobId: number): Promise<boolean> {
  const change = await ctx.db.kysely.transaction().execute(async (tx): Promise<StatusChange | null> => {
    await tx.updateTable('builder_jobs').set({ builder_id: null, logtail: null, abort_sent_at: null }).where('job_id', '=', jobId).execute();
    const r = await tx
      .updateTable('job')
      .set({ lease_owner: null, lease_expires_at: null, cancel_requested_at: null })
      .where('id', '=', jobId)
      .where('status', '=', 'Building')
      .where('lease_owner', '=', b.name)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return null;
    const c = await appendStatus(ctx, tx, jobId, 'Waiting');
    const msg = await buildRequestForJob(tx, jobId, ctx.config.webHost);
    if (msg) await enqueueBuildRequest(tx, jobId, msg);
    return c;
  });
  if (change) {
    emitStatusChanges(ctx, [change]);
    ctx.events.emit({ type: 'outbox.pending' });
  }
  return change != null;
}

/** Reports the outcome as the lease owner; a job that is no longer ours is just let go. */
export async function finishOnBuilder(ctx: Ctx, b: BuilderRow, jobId: number, report: Omit<FinishRequest, 'worker'>): Promise<boolean> {
  try {
    await finishJob(ctx, jobId, { worker: b.name, ...report });
    return true;
  } catch (e) {
    ctx.log.warn(`${b.name}: could not report job ${jobId} as ${report.status}: ${(e as Error).message}`);
    return false;
  } finally {
    await unassign(ctx, jobId);
  }
}
