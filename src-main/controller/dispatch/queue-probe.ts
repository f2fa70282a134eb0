// Liveness of a build client's exclusive command queue, for pyBit's `/buildd/<name>/status`
// (spec/pybit.md §4: a client holds `build_client_<id>` exclusive while it runs). A passive
// declare of a queue that another connection holds exclusively fails with RESOURCE_LOCKED:
// that is the "held" signal. Everything else (missing queue, a queue anyone may use, broker
// down, any other error) means "not held".
import amqp from 'amqplib';
import type { Channel } from 'amqplib';
import { socketOptions, type AmqpLink } from './amqp-link';

const RESOURCE_LOCKED = 405;

/**
 * `link`: the controller's shared connection (a fresh channel is opened and closed on it), or an
 * AMQP URL (a throwaway connection is opened and closed). Never rejects.
 */
export async function isQueueHeld(link: AmqpLink | string, queue: string): Promise<boolean> {
  if (typeof link === 'string') return probeWithOwnConnection(link, queue);
  let ch: Channel;
  try {
    ch = await link.channel();
  } catch {
    return false; // disconnected: we cannot tell, and "not held" is the safe pyBit answer
  }
  return probeOn(ch, queue);
}

async function probeWithOwnConnection(url: string, queue: string): Promise<boolean> {
  let conn;
  try {
    conn = await amqp.connect(url, socketOptions(5_000));
  } catch {
    return false;
  }
  conn.on('error', () => {});
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    return await probeOn(ch, queue);
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => {});
  }
}

/**
 * checkQueue on `ch`, then close `ch`. A failing passive declare closes the channel on the
 * server side (that is AMQP), which is why every probe gets a channel of its own: the error
 * must never reach a channel anyone else uses.
 */
async function probeOn(ch: Channel, queue: string): Promise<boolean> {
  // Guard against an 'error' emitted with no listener (amqplib would throw from its parser).
  if (ch.listenerCount('error') === 0) ch.on('error', () => {});
  let held = false;
  let channelOpen = true;
  try {
    await ch.checkQueue(queue);
  } catch (err) {
    channelOpen = false;
    held = (err as { code?: unknown }).code === RESOURCE_LOCKED;
  }
  if (channelOpen) await ch.close().catch(() => {});
  return held;
}
