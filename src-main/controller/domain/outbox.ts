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
