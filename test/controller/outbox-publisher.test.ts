// The outbox publisher against real RabbitMQ and both database dialects. Each test owns its
// queues (uniqueName) and deletes them; broker outages go through a TCP proxy so the shared
// broker is never touched.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import { openDatabase, type Db } from '../../src-main/controller/db/connect';
import { nowText } from '../../src-main/controller/db/time';
import { createLogger } from '../../src-main/controller/logger';
import { EventBus } from '../../src-main/controller/events';
import { AmqpLink } from '../../src-main/controller/dispatch/amqp-link';
import { OutboxPublisher, type OutboxPublisherOptions } from '../../src-main/controller/dispatch/outbox-publisher';
import { offerOutboxRows, type PendingOutboxRow } from '../../src-main/controller/domain/outbox';
import { isQueueHeld } from '../../src-main/controller/dispatch/queue-probe';
import { AMQP_TEST_URL, DIALECTS, uniqueName, type TestDb } from '../helpers/db';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

const log = createLogger('test', process.env.BUILDBOX_TEST_LOG ? 'debug' : 'silent');

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function waitForLink(link: AmqpLink, connected: boolean): Promise<void> {
  return waitFor(connected ? 'AMQP link up' : 'AMQP link down', () => link.isConnected() === connected);
}

/** The test's own connection to the broker, for consuming and cleaning up. */
class Broker {
  private constructor(private readonly conn: ChannelModel) {}
  static async open(): Promise<Broker> {
    const conn = await amqp.connect(AMQP_TEST_URL, { noDelay: true });
    conn.on('error', () => {});
    return new Broker(conn);
  }
  /** Collect everything delivered on `queue` (auto-ack). */
  async collect(queue: string): Promise<ConsumeMessage[]> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => {});
    const got: ConsumeMessage[] = [];
    await ch.consume(queue, (m) => m && got.push(m), { noAck: true });
    return got;
  }
  async messageCount(queue: string): Promise<number> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => {});
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } finally {
      await ch.close().catch(() => {});
    }
  }
  async deleteQueues(queues: string[]): Promise<void> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => {});
    for (const q of queues) await ch.deleteQueue(q).catch(() => {});
    await ch.close().catch(() => {});
  }
  async close(): Promise<void> {
    await this.conn.close().catch(() => {});
  }
}

describe.each(DIALECTS)('OutboxPublisher ($name)', ({ make }) => {
  let testDb: TestDb;
  let db: Db;
  let broker: Broker;
  let events: EventBus;
  const queues: string[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    testDb = make();
    db = await openDatabase(testDb.url);
    broker = await Broker.open();
    events = new EventBus();
  });

  afterEach(async () => {
    // Publishers first, then links, then proxies (registered in that order; run in reverse).
    for (const c of cleanups.splice(0).reverse()) await c();
    await broker.deleteQueues(queues.splice(0));
    await broker.close();
    await db.close();
    await testDb.cleanup();
  });

  function newQueue(prefix = 'outbox'): { queue: string; key: string } {
    const queue = uniqueName(prefix);
    queues.push(queue);
    return { queue, key: queue.replace(/_/g, '.') };
  }

  async function startLink(url = AMQP_TEST_URL): Promise<AmqpLink> {
    const link = new AmqpLink(url, log, { minDelayMs: 50, maxDelayMs: 200, connectTimeoutMs: 2000 });
    cleanups.push(() => link.stop());
    link.start();
    await waitForLink(link, true);
    return link;
  }

  function startPublisher(link: AmqpLink, opts: Partial<OutboxPublisherOptions> = {}): OutboxPublisher {
    const p = new OutboxPublisher({ db, link, log, events, ...opts });
    cleanups.push(() => p.stop());
    p.start();
    return p;
  }

  async function insertRows(
    n: number,
    row: { routing_key: string; queue: string | null; exchange?: string; persistent?: number },
    bodyOf: (i: number) => string = (i) => `{"n":${i}}`,
  ): Promise<void> {
    const created = nowText();
    for (let i = 0; i < n; i += 500) {
      const values = [];
      for (let j = i; j < Math.min(n, i + 500); j++) {
        values.push({
          exchange: row.exchange ?? 'pybit',
          routing_key: row.routing_key,
          queue: row.queue,
          body: bodyOf(j),
          persistent: row.persistent ?? 1,
          job_id: null,
          created_at: created,
        });
      }
      await db.kysely.insertInto('outbox').values(values).execute();
    }
  }

  const unsentCount = async () =>
    Number(
      (
        await db.kysely
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('sent_at', 'is', null)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('publishes rows to their queue, persistent, exactly once, and marks them sent', async () => {
    const { queue, key } = newQueue();
    const link = await startLink();
    // A long poll: only the outbox.pending event can make these go out promptly.
    const pub = startPublisher(link, { pollMs: 60_000 });
    await insertRows(3, { routing_key: key, queue }, (i) => `{"job":${i},"name":"héllo <&>"}`);
    await insertRows(1, { routing_key: key, queue, persistent: 0 }, () => '{"transient":true}');
    events.emit({ type: 'outbox.pending' });

    await waitFor('rows marked sent', async () => (await unsentCount()) === 0, 5_000);
    expect(await pub.pendingCount()).toBe(0);
    const got = await broker.collect(queue);
    await waitFor('4 messages', () => got.length >= 4);
    await sleep(300); // anything extra would have arrived by now
    expect(got.map((m) => m.content.toString('utf8'))).toEqual([
      '{"job":0,"name":"héllo <&>"}',
      '{"job":1,"name":"héllo <&>"}',
      '{"job":2,"name":"héllo <&>"}',
      '{"transient":true}',
    ]);
    expect(got.slice(0, 3).map((m) => m.properties.deliveryMode)).toEqual([2, 2, 2]);
    expect(got[3]!.properties.deliveryMode).not.toBe(2);
    // pyBit sets no content-type; the message id ties a return to its row.
    expect(got.map((m) => m.properties.contentType)).toEqual([undefined, undefined, undefined, undefined]);
    const rows = await db.kysely.selectFrom('outbox').selectAll().orderBy('id').execute();
    expect(got.map((m) => m.properties.messageId)).toEqual(rows.map((r) => `outbox-${r.id}`));
    for (const r of rows) {
      expect(r.sent_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
      expect(r.dead_at).toBeNull();
      expect(r.attempts).toBe(0);
    }
    expect(pub.stats()).toEqual({ published: 4, publishFailures: 0, returned: 0, inFlight: 0 });
  });

  it("sends rows handed over after commit in the writer's own tick once their queue is declared, and each once", async () => {
    const { queue, key } = newQueue();
    const other = newQueue('outbox_other');
    const link = await startLink();
    const pub = startPublisher(link, { pollMs: 60_000 });
    const rowsAfter = async (n: number, q: { queue: string; key: string }): Promise<PendingOutboxRow[]> => {
      await insertRows(n, { routing_key: q.key, queue: q.queue });
      return db.kysely.selectFrom('outbox').select(['id', 'exchange', 'routing_key', 'queue', 'body', 'persistent', 'attempts']).where('queue', '=', q.queue).where('sent_at', 'is', null).orderBy('id').execute();
    };
    // The first row for a queue goes through a flush, which declares the queue on the channel.
    const first = await rowsAfter(1, { queue, key });
    expect(offerOutboxRows(db, first)).toBe(true);
    await waitFor('the first row sent', async () => (await unsentCount()) === 0, 5_000);
    // Now the queue is known: handed-over rows are on their way before the offer returns.
    const next = await rowsAfter(2, { queue, key });
    expect(offerOutboxRows(db, next)).toBe(true);
    expect(pub.stats().inFlight).toBe(2);
    // A queue this channel has not declared yet still waits for a flush.
    const elsewhere = await rowsAfter(1, other);
    const before = pub.stats();
    expect(offerOutboxRows(db, elsewhere)).toBe(true);
    expect(pub.stats()).toEqual(before);
    // A read of the table meanwhile finds the same rows and must not send them again.
    events.emit({ type: 'outbox.pending' });
    await waitFor('all rows sent', async () => (await unsentCount()) === 0, 5_000);
    const got = await broker.collect(queue);
    const gotOther = await broker.collect(other.queue);
    await waitFor('4 messages', () => got.length + gotOther.length >= 4);
    await sleep(300);
    expect(got.map((m) => m.properties.messageId)).toEqual([...first, ...next].map((r) => `outbox-${r.id}`));
    expect(gotOther.map((m) => m.properties.messageId)).toEqual([`outbox-${elsewhere[0]!.id}`]);
    expect(pub.stats()).toEqual({ published: 4, publishFailures: 0, returned: 0, inFlight: 0 });
  });

  it('publishes 2,000 rows through the confirm window and marks all sent', async () => {
    const { queue, key } = newQueue();
    const link = await startLink();
    await insertRows(2000, { routing_key: key, queue });
    const pub = startPublisher(link, { window: 200 });
    let maxInFlight = 0;
    await waitFor(
      'all rows sent',
      async () => {
        maxInFlight = Math.max(maxInFlight, pub.stats().inFlight);
        return (await pub.pendingCount()) === 0;
      },
      30_000,
    );
    expect(maxInFlight).toBeLessThanOrEqual(200);
    expect(pub.stats()).toMatchObject({ published: 2000, publishFailures: 0, returned: 0 });
    await waitFor('2000 messages queued', async () => (await broker.messageCount(queue)) === 2000);
    await sleep(200);
    expect(await broker.messageCount(queue)).toBe(2000);
  });

  it('keeps rows unsent through a broker outage and sends each once after it', async () => {
    const { queue, key } = newQueue();
    const proxy: TcpProxy = await startTcpProxy(AMQP_TEST_URL);
    cleanups.push(() => proxy.close());
    const link = await startLink(proxy.url());
    const pub = startPublisher(link, { pollMs: 100 });
    const got = await broker.collect(queue).catch(() => null);
    expect(got).toBeNull(); // the queue does not exist yet: the publisher declares it

    await insertRows(1, { routing_key: key, queue }, () => 'before');
    events.emit({ type: 'outbox.pending' });
    await waitFor('first row sent', async () => (await unsentCount()) === 0);

    proxy.cut();
    await waitForLink(link, false);
    await insertRows(20, { routing_key: key, queue }, (i) => `during-${i}`);
    events.emit({ type: 'outbox.pending' });
    await sleep(700); // several polls and reconnect attempts while the broker is away
    expect(await unsentCount()).toBe(20);
    expect(await broker.messageCount(queue)).toBe(1);

    proxy.restore();
    await waitForLink(link, true);
    await waitFor('rows sent after restore', async () => (await unsentCount()) === 0);
    const msgs = await broker.collect(queue);
    await waitFor('21 messages', () => msgs.length >= 21);
    await sleep(300);
    expect(msgs.map((m) => m.content.toString())).toEqual(['before', ...Array.from({ length: 20 }, (_, i) => `during-${i}`)]);
    expect(pub.stats().published).toBe(21);
  });

  it('republishes messages whose confirms were lost with the connection (at-least-once)', async () => {
    const { queue, key } = newQueue();
    const proxy = await startTcpProxy(AMQP_TEST_URL);
    cleanups.push(() => proxy.close());
    const link = await startLink(proxy.url());
    const pub = startPublisher(link, { pollMs: 100 });
    await insertRows(3000, { routing_key: key, queue }, (i) => String(i));
    events.emit({ type: 'outbox.pending' });
    // Cut while messages are in flight.
    await waitFor('some confirmed', () => pub.stats().published > 0 || pub.stats().inFlight > 0, 10_000);
    const atCut = pub.stats();
    proxy.cut();
    await waitForLink(link, false);
    // Confirms outstanding at the cut fail with the channel; their rows stay unsent.
    expect(pub.stats().inFlight).toBe(0);
    if (atCut.inFlight > 0) expect(pub.stats().publishFailures).toBeGreaterThan(0);
    const unsentDuring = await unsentCount();
    expect(unsentDuring).toBeGreaterThan(0);
    proxy.restore();
    await waitFor('all sent', async () => (await unsentCount()) === 0, 30_000);
    const msgs = await broker.collect(queue);
    await waitFor('every row delivered', () => new Set(msgs.map((m) => m.content.toString())).size === 3000, 30_000);
    // Duplicates are allowed (the broker may have taken what it could not confirm); losses are not.
    expect(msgs.length).toBeGreaterThanOrEqual(3000);
  });

  it('does not mark returned (unroutable) rows sent; backs off and gives up after 5 returns', async () => {
    const key = uniqueName('noroute').replace(/_/g, '.');
    const link = await startLink();
    const pub = startPublisher(link, { retryBaseMs: 20, retryMaxMs: 80, pollMs: 5_000 });
    await insertRows(1, { routing_key: key, queue: null }, () => '{"cancel":true}');
    events.emit({ type: 'outbox.pending' });

    const row = () => db.kysely.selectFrom('outbox').selectAll().executeTakeFirstOrThrow();
    await waitFor('first return recorded', async () => (await row()).attempts >= 1);
    const first = await row();
    expect(first.sent_at).toBeNull();
    expect(first.dead_at).toBeNull();
    expect(first.next_attempt_at).not.toBeNull();

    await waitFor('row dead', async () => (await row()).dead_at !== null, 10_000);
    const dead = await row();
    expect(dead.attempts).toBe(5);
    expect(dead.sent_at).toBeNull();
    expect(pub.stats()).toMatchObject({ returned: 5, published: 0 });
    expect(await pub.pendingCount()).toBe(0);
    // Dead rows are left alone.
    await sleep(300);
    expect(pub.stats().returned).toBe(5);
    expect((await row()).attempts).toBe(5);
  });

  it('treats a refused queue declare like a return and keeps publishing other rows', async () => {
    const bad = newQueue('clash');
    const good = newQueue('good');
    // The queue exists non-durable: declaring it durable fails with 406 and closes the channel.
    const conn = await amqp.connect(AMQP_TEST_URL);
    conn.on('error', () => {});
    cleanups.push(() => conn.close().catch(() => {}));
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await ch.assertQueue(bad.queue, { durable: false, autoDelete: false });

    const link = await startLink();
    const pub = startPublisher(link, { retryBaseMs: 20, retryMaxMs: 50, pollMs: 100 });
    await insertRows(1, { routing_key: bad.key, queue: bad.queue }, () => 'bad');
    await insertRows(5, { routing_key: good.key, queue: good.queue }, (i) => `good-${i}`);
    events.emit({ type: 'outbox.pending' });
    const badRow = () =>
      db.kysely.selectFrom('outbox').selectAll().where('queue', '=', bad.queue).executeTakeFirstOrThrow();
    await waitFor('bad row dead', async () => (await badRow()).dead_at !== null, 10_000);
    await waitFor('good rows sent', async () => (await unsentCount()) === 1);
    expect((await badRow()).sent_at).toBeNull();
    // Each refused declare kills the confirm channel; a good message in flight at that moment
    // is published again (at-least-once), so count at least, not exactly.
    expect(await broker.messageCount(good.queue)).toBeGreaterThanOrEqual(5);
    expect(link.isConnected()).toBe(true);
    expect(pub.stats().published).toBeGreaterThanOrEqual(5);
  });
});

describe('isQueueHeld', () => {
  it('is true only while another connection holds the queue exclusively', async () => {
    const link = new AmqpLink(AMQP_TEST_URL, log);
    link.start();
    const other = await amqp.connect(AMQP_TEST_URL);
    other.on('error', () => {});
    const held = uniqueName('build_client');
    const shared = uniqueName('shared');
    const missing = uniqueName('missing');
    try {
      await waitForLink(link, true);
      const confirm = link.currentConfirmChannel();
      const ch = await other.createChannel();
      // As a pyBit client holds its command queue (§4).
      await ch.assertQueue(held, { durable: false, exclusive: true, autoDelete: true });
      await ch.assertQueue(shared, { durable: false, exclusive: false, autoDelete: false });

      expect(await isQueueHeld(link, held)).toBe(true);
      expect(await isQueueHeld(AMQP_TEST_URL, held)).toBe(true);
      expect(await isQueueHeld(link, missing)).toBe(false);
      expect(await isQueueHeld(AMQP_TEST_URL, missing)).toBe(false);
      expect(await isQueueHeld(link, shared)).toBe(false);
      // Probe failures closed only their own channels.
      expect(link.isConnected()).toBe(true);
      expect(link.currentConfirmChannel()).toBe(confirm);

      await ch.deleteQueue(shared);
      await other.close();
      await waitFor('exclusive queue released', async () => !(await isQueueHeld(link, held)));
      expect(await isQueueHeld(AMQP_TEST_URL, held)).toBe(false);
      // Unreachable broker / disconnected link: not held, no throw.
      expect(await isQueueHeld('amqp://guest:guest@127.0.0.1:1/', held)).toBe(false);
    } finally {
      await other.close().catch(() => {});
      await link.stop();
    }
    expect(await isQueueHeld(link, held)).toBe(false);
  });
});
