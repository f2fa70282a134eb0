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

/**
 * Cancels every unfinished job older than or equal in version to a new one, for the same target
 * (dist, suite, arch, environment). `unfinished` are the candidates — unfinished jobs of the
 * package name in the dist and suite, read before the new jobs were written. The new jobs of
 * one submission are taken in order, as if submitted one after another.
 */
export async function supersede(
  ctx: Ctx,
  tx: Transaction<Database>,
  sub: {
    version: string;
    jobs: ReadonlyArray<{ id: number; archId: number; envId: number | null }>;
    unfinished: ReadonlyArray<{ id: number; version: string; arch_id: number; env_id: number | null }>;
  },
  fx: CancelEffects,
): Promise<void> {
  // Both without an environment, or the same one (pyBit crashed when only one had one).
  const sameTarget = (a: { archId: number; envId: number | null }, b: { archId: number; envId: number | null }) =>
    a.archId === b.archId && (a.envId ?? null) === (b.envId ?? null);
  const done = new Set<number>();
  for (const [i, nj] of sub.jobs.entries()) {
    for (const old of sub.unfinished) {
      if (done.has(old.id) || !sameTarget(nj, { archId: old.arch_id, envId: old.env_id })) continue;
      if (old.version === sub.version || compareVersions(sub.version, old.version) >= 0) {
        done.add(old.id);
        await cancelJob(ctx, tx, old.id, fx);
      }
    }
    // The same target twice in one fan-out: the later job supersedes the earlier (equal version).
    for (const earlier of sub.jobs.slice(0, i)) {
      if (!done.has(earlier.id) && sameTarget(nj, earlier)) {
        done.add(earlier.id);
        await cancelJob(ctx, tx, earlier.id, fx);
      }
    }
  }
}

/** Row lock on a job until the transaction ends (PostgreSQL; SQLite transactions are serial). */
export async function lockJob(tx: Transaction<Database>, jobId: number): Promise<void> {
  await tx.selectFrom('job').select('id').where('id', '=', jobId).forUpdate().execute();
}
