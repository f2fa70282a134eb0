// The one place a job's status changes: history row + denormalised job.status, in the caller's transaction.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema';
import type { Ctx } from '../context';
import { nowText } from '../db/time';
import { HttpError } from '../http/errors';

type Tx = Kysely<Database> | Transaction<Database>;

export interface StatusChange {
  jobId: number;
  status: string;
  previous: string | null;
  client: string | null;
}

/**
 * Appends a status row for `jobId`. Throws a 400 for an unknown status name and a 404 for an
 * unknown job. Returns the change so that the caller can emit the event after commit.
 */
export async function appendStatus(
  ctx: Ctx,
  tx: Tx,
  jobId: number,
  status: string,
  opts: { clientId?: number | null; clientName?: string | null; time?: string } = {},
): Promise<StatusChange> {
  const statusId = await ctx.statuses.id(status);
  if (statusId === undefined) throw new HttpError(400, `unknown status '${status}'`);
  const job = await tx.selectFrom('job').select(['id', 'status']).where('id', '=', jobId).executeTakeFirst();
  if (!job) throw new HttpError(404, 'No job found with this ID.');
  const time = opts.time ?? nowText();
  await tx.insertInto('jobstatus').values({ job_id: jobId, status_id: statusId, time }).execute();
  const patch: Record<string, unknown> = { status, updated_at: time };
  if (opts.clientId !== undefined) patch.buildclient_id = opts.clientId;
  // A job that leaves Building no longer holds a lease.
  if (status !== 'Building') {
    patch.lease_owner = null;
    patch.lease_expires_at = null;
  }
  await tx.updateTable('job').set(patch).where('id', '=', jobId).execute();
  return { jobId, status, previous: job.status, client: opts.clientName ?? null };
}

export function emitStatusChanges(ctx: Ctx, changes: StatusChange[]): void {
  for (const c of changes) ctx.events.emit({ type: 'job.status', ...c });
}
