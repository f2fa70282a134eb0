// pyBit's process_cancel and superseding (spec/pybit.md §7.3, §7.4).
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema';
import type { Ctx } from '../context';
import { cancelRequest } from '@shared/pybit-models';
import { UNFINISHED_STATUSES, isFinished } from '@shared/statuses';
import { compareVersions } from '@shared/version-compare';
import { appendStatus, type StatusChange } from './job-status';
import { enqueueCancelRequest } from './outbox';
import { jobModel, loadJob } from './models';
import { nowText } from '../db/time';

export interface CancelEffects {
  changes: StatusChange[];
  cancelRequests: number;
}

export function noEffects(): CancelEffects {
  return { changes: [], cancelRequests: 0 };
}

/**
 * Cancels one job: a Building job with a client gets a CancelRequest on that client's queue
 * (the client reports Cancelled when it has stopped); anything else is marked Cancelled now.
 */
export async function cancelJob(ctx: Ctx, tx: Transaction<Database>, jobId: number, fx: CancelEffects): Promise<void> {
  // On PostgreSQL, lock the row and read it again: a concurrent cancel or supersede may have
  // finished the job since the caller looked, and a second Cancelled row would be a lie.
  if (ctx.db.dialect === 'postgres') await lockJob(tx, jobId);
  const row = await loadJob(tx, jobId);
  if (!row || isFinished(row.j_status)) return;
  if (row.j_status === 'Building' && row.bc_name) {
    await enqueueCancelRequest(tx, jobId, row.bc_name, cancelRequest(jobModel(row), ctx.config.webHost));
    // A leased job also learns of it from its next heartbeat (workers without a command queue).
    await tx.updateTable('job').set({ cancel_requested_at: nowText() }).where('id', '=', jobId).where('lease_owner', 'is not', null).execute();
    fx.cancelRequests++;
    return;
  }
  fx.changes.push(await appendStatus(ctx, tx, jobId, 'Cancelled'));
}

/** Cancels every unfinished job older than or equal in version to the new one, for the same target. */
export async function supersede(
  ctx: Ctx,
  tx: Transaction<Database>,
  newJob: { id: number; name: string; version: string; distId: number; archId: number; suiteId: number; envId: number | null },
  fx: CancelEffects,
): Promise<void> {
  let q = tx
    .selectFrom('job as j')
    .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
    .innerJoin('package as p', 'p.id', 'pi.package_id')
    .select(['j.id as id', 'p.version as version'])
    .where('p.name', '=', newJob.name)
    .where('j.id', '!=', newJob.id)
    .where('j.status', 'in', [...UNFINISHED_STATUSES])
    .where('pi.dist_id', '=', newJob.distId)
    .where('pi.arch_id', '=', newJob.archId)
    .where('pi.suite_id', '=', newJob.suiteId);
  // Both without an environment, or the same one (pyBit crashed when only one had one).
  q = newJob.envId == null ? q.where('pi.buildenv_id', 'is', null) : q.where('pi.buildenv_id', '=', newJob.envId);
  const olds = await q.execute();
  for (const old of olds) {
    if (old.version === newJob.version || compareVersions(newJob.version, old.version) >= 0) {
      await cancelJob(ctx, tx, old.id, fx);
    }
  }
}

/** Row lock on a job until the transaction ends (PostgreSQL; SQLite transactions are serial). */
export async function lockJob(tx: Transaction<Database>, jobId: number): Promise<void> {
  await tx.selectFrom('job').select('id').where('id', '=', jobId).forUpdate().execute();
}
