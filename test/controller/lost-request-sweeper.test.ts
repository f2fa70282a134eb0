// BuildRequests the broker lost (a purged or deleted queue) are published again for jobs still
// Waiting, once, and never for jobs whose message is still queued or that a worker has taken.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { AMQP_TEST_URL, DIALECTS, uniqueName } from '../helpers/db';
import { Broker, hookForm, setupSuite, startTestController, waitFor, type TestController } from '../helpers/controller';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(DIALECTS)('lost BuildRequests ($name)', ({ make }) => {
  let t: TestController;
  let broker: Broker;
  let admin: ChannelModel;
  let suite: string;
  const queue = () => `Debian_i386_${suite}_deb`;

  beforeEach(async () => {
    broker = await Broker.open();
    // Checked every 150 ms; a job counts as possibly lost after 400 ms in Waiting.
    t = await startTestController(make, { amqp: AMQP_TEST_URL, lostRequestCheckMs: 150, lostRequestGraceMs: 400 });
    suite = uniqueName('lost');
    await setupSuite(t, suite, [{ name: 'i386', weight: 1 }]);
    broker.track(queue());
    admin = await amqp.connect(AMQP_TEST_URL);
    admin.on('error', () => {});
    await waitFor('controller connected to the broker', () => t.c.link!.isConnected());
  });
  afterEach(async () => {
    await admin?.close().catch(() => {});
    await t?.close();
    await broker?.close();
  });

  const submit = async (pkg: string) => {
    const r = await t.post('/job/vcshook', hookForm({ suite, package: pkg, architecture_list: 'i386' }));
    expect(r.status, r.text).toBe(200);
    const row = await t.kysely.selectFrom('job').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow();
    return row.id;
  };
  const ready = async () => (await broker.inspect(queue()))?.messageCount ?? 0;
  const jobIdsIn = async () => (await broker.drain(queue())).map((m) => JSON.parse(m.content.toString()).job.id as number).sort((a, b) => a - b);

  it('a purged queue gets the Waiting jobs’ messages again, once', async () => {
    const a = await submit('lost-a');
    // b turns stale a few checks after a: the first pass that sees only a must not make the
    // next one publish a again.
    await sleep(500);
    const b = await submit('lost-b');
    await waitFor('both messages queued', async () => (await ready()) === 2);
    const ch = await admin.createChannel();
    await ch.purgeQueue(queue());
    expect(await ready()).toBe(0);

    await waitFor('the messages published again', async () => (await ready()) === 2, 20_000);
    // Several more checks pass: the queue now holds as many messages as Waiting jobs, so nothing more is sent.
    await sleep(1000);
    expect(await jobIdsIn()).toEqual([a, b]);
    const statuses = await t.kysely.selectFrom('job').select('status').where('id', 'in', [a, b]).execute();
    expect(statuses.map((s) => s.status)).toEqual(['Waiting', 'Waiting']);
  });

  it('a deleted queue is declared again with the messages', async () => {
    const a = await submit('gone-a');
    await waitFor('message queued', async () => (await ready()) === 1);
    const ch = await admin.createChannel();
    await ch.deleteQueue(queue());
    expect(await broker.inspect(queue())).toBeNull();
    await waitFor('queue back with the message', async () => (await ready()) === 1, 20_000);
    expect(await jobIdsIn()).toEqual([a]);
  });

  it('leaves alone jobs whose message is still queued and jobs no longer Waiting', async () => {
    const taken = await submit('taken');
    const kept = await submit('kept');
    await waitFor('both messages queued', async () => (await ready()) === 2);
    // A pyBit client takes `taken`: it holds the message unacked while it builds (pyBit acks at the end).
    const client = await admin.createChannel();
    const m = await client.get(queue(), { noAck: false });
    expect(m && JSON.parse(m.content.toString()).job.id).toBe(taken);
    expect((await t.put(`/job/${taken}`, { status: 'Building', client: 'build_client_x' })).status).toBe(200);
    // Nothing is lost yet: `kept` has its message, `taken` is Building. Several checks pass.
    await sleep(1000);
    expect(await ready()).toBe(1);
    // Now `kept`'s message is lost; only it is published again, not `taken`'s.
    await (await admin.createChannel()).purgeQueue(queue());
    await waitFor('the lost one published again', async () => (await ready()) === 1, 20_000);
    await sleep(1000);
    expect(await jobIdsIn()).toEqual([kept]);
    client.ack(m as amqp.GetMessage);
  });
});

describe.each(DIALECTS)('a build queue deleted under a running controller ($name)', ({ make }) => {
  it('is declared again for the next message instead of every message bouncing', async () => {
    const broker = await Broker.open();
    // No lost-request check here: only the publisher's own handling of the returned message.
    const t = await startTestController(make, { amqp: AMQP_TEST_URL, publisher: { pollMs: 100, retryBaseMs: 100 } });
    const admin = await amqp.connect(AMQP_TEST_URL);
    admin.on('error', () => {});
    try {
      const suite = uniqueName('redeclare');
      const queue = `Debian_i386_${suite}_deb`;
      broker.track(queue);
      await setupSuite(t, suite, [{ name: 'i386', weight: 1 }]);
      await waitFor('controller connected to the broker', () => t.c.link!.isConnected());
      expect((await t.post('/job/vcshook', hookForm({ suite, package: 'before', architecture_list: 'i386' }))).status).toBe(200);
      expect((await broker.take(queue, 1)).length).toBe(1);
      await (await admin.createChannel()).deleteQueue(queue);
      expect((await t.post('/job/vcshook', hookForm({ suite, package: 'after', architecture_list: 'i386' }))).status).toBe(200);
      const got = await broker.take(queue, 1, { timeoutMs: 20_000 });
      expect(got.map((m) => JSON.parse(m.content.toString()).job.packageinstance.package.name)).toEqual(['after']);
      const dead = await t.kysely.selectFrom('outbox').select('id').where('dead_at', 'is not', null).execute();
      expect(dead).toEqual([]);
    } finally {
      await admin.close().catch(() => {});
      await t.close();
      await broker.close();
    }
  });
});
