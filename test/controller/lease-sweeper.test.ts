// The lease sweeper and the retry scheduler on SQLite and PostgreSQL: an expired lease puts the
// job back to Waiting and republishes its BuildRequest (checked on a real RabbitMQ queue), a
// renewed lease and a pyBit client's lease-less Building job are left alone, and two
// controllers sweeping one database move each job exactly once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startController, type Controller } from '../../src-main/controller/controller';
import { sweepExpiredLeases } from '../../src-main/controller/domain/lease-sweeper';
import { retryDueJobs } from '../../src-main/controller/domain/retry-scheduler';
import { toDbTime } from '../../src-main/controller/db/time';
import { buildQueueName } from '../../src-shared/pybit-models';
import { Broker, body, history, waitFor, ADMIN_PASSWORD } from '../helpers/controller';
import { AMQP_TEST_URL, DIALECTS, tempDir } from '../helpers/db';
import { buildMessages, startWorkerTest, tune, type WorkerTest } from './worker-api-helpers';

const past = () => toDbTime(new Date(Date.now() - 60_000));

describe.each(DIALECTS)('lease sweeper ($name)', ({ make }) => {
  let w: WorkerTest;
  beforeEach(async () => {
    w = await startWorkerTest(make);
  });
  afterEach(async () => {
    await w.close();
  });

  async function expire(jobId: number): Promise<void> {
    await w.t.kysely.updateTable('job').set({ lease_expires_at: past() }).where('id', '=', jobId).execute();
  }

  it('requeues a job whose lease expired and leaves renewed leases alone', async () => {
    tune(w.t, { sweepIntervalMs: 3_600_000, leaseSeconds: 600 });
    const dead = await w.submit();
    const alive = await w.submit();
    const published = await buildMessages(w.t, dead);
    await w.claim(dead, 'build_client_dead');
    await w.claim(alive, 'build_client_alive');
    await expire(dead);
    await expire(alive);
    // The live worker's heartbeat renews its lease before the sweeper gets there.
    expect((await w.heartbeat(alive, 'build_client_alive')).json().stop).toBe(false);

    const r = await sweepExpiredLeases(w.t.c.ctx);
    expect(r).toEqual({ requeued: [dead], cancelled: [] });
    expect(await history(w.t, dead)).toEqual(['Waiting', 'Building', 'Waiting']);
    expect(await history(w.t, alive)).toEqual(['Waiting', 'Building']);
    const job = await w.t.kysely.selectFrom('job').selectAll().where('id', '=', dead).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ status: 'Waiting', lease_owner: null, lease_expires_at: null });
    expect(job.result_details).toMatch(/build_client_dead/);
    expect(await buildMessages(w.t, dead)).toBe(published + 1);

    // The dead worker learns it lost the job; its late reports are refused.
    expect((await w.heartbeat(dead, 'build_client_dead')).json()).toMatchObject({ stop: true, reason: 'lease-lost', status: 'Waiting' });
    expect((await w.finish(dead, { worker: 'build_client_dead', status: 'Done' })).status).toBe(409);
    // Another worker takes it.
    expect((await w.claim(dead, 'build_client_other')).status).toBe(200);
    expect((await w.t.kysely.selectFrom('job').select('attempts').where('id', '=', dead).executeTakeFirstOrThrow()).attempts).toBe(2);
    // A second sweep finds nothing.
    expect(await sweepExpiredLeases(w.t.c.ctx)).toEqual({ requeued: [], cancelled: [] });
  });

  it('never touches a Building job without a lease (a pyBit client)', async () => {
    tune(w.t, { sweepIntervalMs: 3_600_000 });
    const id = await w.submit();
    expect((await w.t.put(`/job/${id}`, { status: 'Building', client: 'build_client_7' })).status).toBe(200);
    await w.t.kysely.updateTable('job').set({ updated_at: '2000-01-01 00:00:00.000000' }).where('id', '=', id).execute();
    expect(await sweepExpiredLeases(w.t.c.ctx)).toEqual({ requeued: [], cancelled: [] });
    expect(await history(w.t, id)).toEqual(['Waiting', 'Building']);
    // Nor can a Buildbox worker claim it.
    expect((await w.claim(id, 'build_client_x')).status).toBe(409);
  });

  it('cancels instead of requeueing when a cancel was requested before the worker vanished', async () => {
    tune(w.t, { sweepIntervalMs: 3_600_000 });
    const id = await w.submit();
    const published = await buildMessages(w.t, id);
    await w.claim(id, 'build_client_a');
    expect((await w.t.get(`/job/${id}/cancel`, { auth: true })).status).toBe(202);
    await expire(id);
    expect(await sweepExpiredLeases(w.t.c.ctx)).toEqual({ requeued: [], cancelled: [id] });
    expect(await history(w.t, id)).toEqual(['Waiting', 'Building', 'Cancelled']);
    expect(await buildMessages(w.t, id)).toBe(published);
  });

  // Several controllers share a PostgreSQL database; a SQLite file belongs to one process, so
  // there the sweeps race inside one controller.
  it('moves each job exactly once when sweeps race (two controllers on PostgreSQL)', async () => {
    tune(w.t, { sweepIntervalMs: 3_600_000, leaseSeconds: 600, retryBaseSeconds: 60 });
    const data = tempDir('buildbox-ctl2-');
    let second: Controller | null = null;
    try {
      if (w.t.db.kind === 'postgres') {
        second = await startController({ db: w.t.db.url, amqp: null, port: 0, dataDir: data.dir, adminPassword: ADMIN_PASSWORD, logLevel: 'silent', sweepIntervalMs: 3_600_000 });
      }
      const other = second?.ctx ?? w.t.c.ctx;
      const leased: number[] = [];
      const blocked: number[] = [];
      for (let i = 0; i < 6; i++) {
        const id = await w.submit();
        await w.claim(id, `build_client_${i}`);
        if (i % 2 === 0) {
          leased.push(id);
          await expire(id);
        } else {
          blocked.push(id);
          await w.finish(id, { worker: `build_client_${i}`, status: 'Blocked', result: 'DEPFAIL', details: 'libx' });
          await w.t.kysely.updateTable('job').set({ retry_at: past() }).where('id', '=', id).execute();
        }
      }
      const before = new Map<number, number>();
      for (const id of [...leased, ...blocked]) before.set(id, await buildMessages(w.t, id));
      const ctxs = [w.t.c.ctx, other, w.t.c.ctx, other];
      const sweeps = await Promise.all(ctxs.map((c) => sweepExpiredLeases(c)));
      const retries = await Promise.all(ctxs.map((c) => retryDueJobs(c)));
      expect(sweeps.flatMap((s) => s.requeued).sort((a, b) => a - b)).toEqual(leased);
      expect(retries.flat().sort((a, b) => a - b)).toEqual(blocked);
      for (const id of leased) expect(await history(w.t, id)).toEqual(['Waiting', 'Building', 'Waiting']);
      for (const id of blocked) expect(await history(w.t, id)).toEqual(['Waiting', 'Building', 'Blocked', 'Waiting']);
      for (const id of [...leased, ...blocked]) expect(await buildMessages(w.t, id)).toBe(before.get(id)! + 1);
    } finally {
      await second?.close();
      data.cleanup();
    }
  });
});

describe.each(DIALECTS)('lease expiry end to end with RabbitMQ ($name)', ({ make }) => {
  let w: WorkerTest;
  let broker: Broker;
  beforeEach(async () => {
    w = await startWorkerTest(make, { amqp: AMQP_TEST_URL });
    broker = await Broker.open();
  });
  afterEach(async () => {
    await w.close();
    await broker.close();
  });

  it('republishes the BuildRequest of a job whose worker stopped heartbeating', async () => {
    tune(w.t, { leaseSeconds: 1, sweepIntervalMs: 100 });
    const queue = buildQueueName('Debian', w.arch, w.suite, 'deb');
    broker.track(queue);
    const id = await w.submit();
    const first = await broker.take(queue, 1, { settleMs: 0 });
    expect(body(first[0]!).job.id).toBe(id);

    expect((await w.claim(id, 'build_client_gone')).status).toBe(200);
    // No heartbeats: the sweeper requeues the job once the one-second lease has run out.
    await waitFor('the job to be requeued', async () => (await history(w.t, id)).length === 3);
    expect(await history(w.t, id)).toEqual(['Waiting', 'Building', 'Waiting']);
    const again = await broker.take(queue, 1);
    expect(again).toHaveLength(1);
    const msg = body(again[0]!);
    expect(msg['py/object']).toBe('pybit.models.BuildRequest');
    expect(msg.job.id).toBe(id);
    expect(msg.job.packageinstance.arch.name).toBe(w.arch);

    // A worker that heartbeats keeps its job through several lease periods.
    expect((await w.claim(id, 'build_client_alive')).status).toBe(200);
    let beats = 0;
    await waitFor('heartbeats over three lease periods', async () => {
      const hb = (await w.heartbeat(id, 'build_client_alive')).json();
      expect(hb.stop).toBe(false);
      beats++;
      await new Promise((r) => setTimeout(r, 100));
      return beats >= 30;
    });
    expect(await history(w.t, id)).toEqual(['Waiting', 'Building', 'Waiting', 'Building']);
  });
});
