// Republishes BuildRequests that the broker lost. The outbox makes sure a message reaches
// RabbitMQ once (persistent, to a durable queue, on a publisher confirm), but a queue can still be
// purged or deleted by an operator, or a broker rebuilt from scratch: the jobs would then sit in
// Waiting for ever, with nothing in any queue to make a worker take them (pyBit's other "stuck"
// bug). So, now and then, each build queue that has Waiting jobs older than a grace period is
// checked: if it holds fewer ready messages than it has such jobs, every one of them is published
// again. Duplicates are harmless — claiming is atomic, a worker acks a message for a job that is no
// longer Waiting without building it — and after one pass the queue holds at least as many
// messages as jobs, so the check does not fire again while nothing is lost.
import type { Channel } from 'amqplib';
import type { Ctx } from '../context';
import { toDbTime } from '../db/time';
import { buildRequestForJob, jobQuery } from '../domain/models';
import { enqueueBuildRequests } from '../domain/outbox';
import { buildQueueName } from '@shared/pybit-models';
import type { AmqpLink } from './amqp-link';

export const DEFAULT_LOST_REQUEST_CHECK_MS = 30_000;
export const DEFAULT_LOST_REQUEST_GRACE_MS = 60_000;
const MEMORY_GRACES = 5;
/** Jobs looked at per pass: bounds the cost on a farm with a huge backlog. */
const MAX_CANDIDATES = 5000;

export interface LostRequestSweep {
  /** Queues found holding fewer messages than Waiting jobs. */
  queues: string[];
  republished: number[];
}

const NOT_FOUND = 404;

/** Ready messages in `queue`, 0 when it does not exist, null when the broker cannot be asked. */
async function readyMessages(link: AmqpLink, queue: string): Promise<number | null> {
  let ch: Channel;
  try {
    ch = await link.channel();
  } catch {
    return null;
  }
  // A failed passive declare closes the channel server-side: it is ours alone, and its error must
  // not be thrown from amqplib's parser.
  ch.on('error', () => {});
  try {
    const q = await ch.checkQueue(queue);
    await ch.close().catch(() => {});
    return q.messageCount;
  } catch (err) {
    return (err as { code?: unknown }).code === NOT_FOUND ? 0 : null;
  }
}

/**
 * Jobs published again by an earlier pass, with when: their new message may still be in the
 * queue, so for a while each is counted as one message there rather than as a job needing one
 * (jobs turning stale a few passes apart must not get a second copy each).
 */
export type RepublishMemory = Map<number, number>;

export async function republishLostRequests(
  ctx: Ctx,
  link: AmqpLink,
  graceMs = DEFAULT_LOST_REQUEST_GRACE_MS,
  memory: RepublishMemory = new Map(),
): Promise<LostRequestSweep> {
  const out: LostRequestSweep = { queues: [], republished: [] };
  if (!link.isConnected()) return out;
  const db = ctx.db.kysely;
  const cutoff = toDbTime(new Date(Date.now() - graceMs));
  const rows = await jobQuery(db).where('j.status', '=', 'Waiting').where('j.updated_at', '<', cutoff).orderBy('j.id').limit(MAX_CANDIDATES).execute();
  if (rows.length === 0) return out;
  // A job whose message is still in the outbox (broker was down, or just not confirmed yet) is
  // the publisher's business, not lost.
  const unsent = new Set(
    (await db.selectFrom('outbox').select('job_id').where('sent_at', 'is', null).where('dead_at', 'is', null).where('job_id', 'is not', null).execute()).map(
      (r) => r.job_id as number,
    ),
  );
  const byQueue = new Map<string, number[]>();
  for (const r of rows) {
    if (unsent.has(r.j_id)) continue;
    const q = buildQueueName(r.d_name, r.a_name, r.s_name, r.f_name);
    let ids = byQueue.get(q);
    if (!ids) byQueue.set(q, (ids = []));
    ids.push(r.j_id);
  }
  const now = Date.now();
  // Remembered for a few grace periods: long enough for jobs that turn stale a while apart,
  // short enough that a message lost a second time is published again before long.
  for (const [id, at] of memory) if (now - at > MEMORY_GRACES * graceMs) memory.delete(id);
  for (const [queue, all] of byQueue) {
    const recent = all.filter((id) => memory.has(id));
    const ids = all.filter((id) => !memory.has(id));
    if (ids.length === 0) continue;
    const ready = await readyMessages(link, queue);
    if (ready === null || ready - recent.length >= ids.length) continue;
    const items = [];
    for (const id of ids) {
      const msg = await buildRequestForJob(db, id, ctx.config.webHost);
      if (msg) items.push({ jobId: id, msg });
    }
    // Still Waiting? A worker may have claimed some while we looked; those need no message.
    const still = new Set(
      (await db.selectFrom('job').select('id').where('status', '=', 'Waiting').where('id', 'in', ids).execute()).map((r) => r.id),
    );
    const again = items.filter((i) => still.has(i.jobId));
    if (again.length === 0) continue;
    await enqueueBuildRequests(db, again);
    for (const i of again) memory.set(i.jobId, now);
    out.queues.push(queue);
    out.republished.push(...again.map((i) => i.jobId));
    ctx.log.warn(
      `queue ${queue} holds ${ready} message(s) for ${all.length} job(s) Waiting over ${Math.round(graceMs / 1000)} s: the broker lost some; ` +
        `published the BuildRequests of ${again.length} job(s) again`,
    );
  }
  if (out.republished.length) ctx.events.emit({ type: 'outbox.pending' });
  return out;
}
