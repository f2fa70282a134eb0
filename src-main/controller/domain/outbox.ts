// Messages to RabbitMQ are rows written in the same transaction as the state they announce;
// the publisher sends them after commit and marks them sent on the broker's confirm.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema';
import { nowText } from '../db/time';
import { PYBIT_EXCHANGE, buildQueueName, buildRoutingKey, type BuildRequest, type CancelRequest } from '@shared/pybit-models';

type Tx = Kysely<Database> | Transaction<Database>;

export async function enqueueBuildRequest(tx: Tx, jobId: number, msg: BuildRequest): Promise<void> {
  await enqueueBuildRequests(tx, [{ jobId, msg }]);
}

/** Several BuildRequests in one INSERT (a submission fans out to one per job). */
export async function enqueueBuildRequests(tx: Tx, items: ReadonlyArray<{ jobId: number; msg: BuildRequest }>): Promise<void> {
  if (items.length === 0) return;
  await tx.insertInto('outbox').values(buildRequestRows(items, nowText())).execute();
}

/** Outbox rows for BuildRequests: to the build queue of each job's dist, arch, suite and format. */
export function buildRequestRows(items: ReadonlyArray<{ jobId: number; msg: BuildRequest }>, now: string) {
  return items.map(({ jobId, msg }) => {
    const pi = msg.job.packageinstance;
    const d = pi.distribution.name;
    const a = pi.arch.name;
    const s = pi.suite.name;
    const f = pi.format.name;
    return {
      exchange: PYBIT_EXCHANGE,
      routing_key: buildRoutingKey(d, a, s, f),
      queue: buildQueueName(d, a, s, f),
      body: JSON.stringify(msg),
      persistent: 1,
      job_id: jobId,
      created_at: now,
    };
  });
}

/** A CancelRequest goes to the build client's own command queue (routing key = its name). */
export async function enqueueCancelRequest(tx: Tx, jobId: number, clientName: string, msg: CancelRequest): Promise<void> {
  await tx
    .insertInto('outbox')
    .values({
      exchange: PYBIT_EXCHANGE,
      routing_key: clientName,
      queue: null,
      body: JSON.stringify(msg),
      persistent: 1,
      job_id: jobId,
      created_at: nowText(),
    })
    .execute();
}

/** An outbox row as the publisher sends it. */
export interface PendingOutboxRow {
  id: number;
  exchange: string;
  routing_key: string;
  queue: string | null;
  body: string;
  persistent: number;
  attempts: number;
}

type RowTaker = (rows: readonly PendingOutboxRow[]) => boolean;
const takers = new WeakMap<object, RowTaker>();

/**
 * The publisher of `db`'s outbox takes rows handed to it after commit, so that it need not read
 * back what a submission has just written. Returns the function that stops taking them.
 */
export function takeOutboxRows(db: object, taker: RowTaker): () => void {
  takers.set(db, taker);
  return () => {
    if (takers.get(db) === taker) takers.delete(db);
  };
}

/**
 * Hands committed outbox rows to the publisher. Returns false when none is taking them (no
 * broker, or not connected): the caller then announces `outbox.pending` as any other writer.
 * Rows handed over that cannot be sent stay unsent in the table, where the publisher's next
 * read finds them.
 */
export function offerOutboxRows(db: object, rows: readonly PendingOutboxRow[]): boolean {
  if (rows.length === 0) return true;
  return takers.get(db)?.(rows) ?? false;
}
