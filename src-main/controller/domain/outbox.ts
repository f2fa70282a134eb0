// Messages to RabbitMQ are rows written in the same transaction as the state they announce;
// the publisher sends them after commit and marks them sent on the broker's confirm.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema';
import { nowText } from '../db/time';
import { PYBIT_EXCHANGE, buildQueueName, buildRoutingKey, type BuildRequest, type CancelRequest } from '@shared/pybit-models';

type Tx = Kysely<Database> | Transaction<Database>;

export async function enqueueBuildRequest(tx: Tx, jobId: number, msg: BuildRequest): Promise<void> {
  const pi = msg.job.packageinstance;
  const d = pi.distribution.name;
  const a = pi.arch.name;
  const s = pi.suite.name;
  const f = pi.format.name;
  await tx
    .insertInto('outbox')
    .values({
      exchange: PYBIT_EXCHANGE,
      routing_key: buildRoutingKey(d, a, s, f),
      queue: buildQueueName(d, a, s, f),
      body: JSON.stringify(msg),
      persistent: 1,
      job_id: jobId,
      created_at: nowText(),
    })
    .execute();
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
