// The worker protocol over real HTTP on SQLite and PostgreSQL: hello and the worker list, the
// atomic claim, heartbeats, finish (Done, DEPFAIL with automatic retry, GIVENBACK), cancel
// through heartbeats, and authentication.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClaimResponse, FinishResponse, HeartbeatResponse, WorkerInfo, workerPaths } from '../../src-shared/worker-api';
import { fromDbTime } from '../../src-main/controller/db/time';
import { history, waitFor } from '../helpers/controller';
import { DIALECTS } from '../helpers/db';
import { buildMessages, startWorkerTest, tune, type WorkerTest } from './worker-api-helpers';

describe.each(DIALECTS)('worker API ($name)', ({ make }) => {
  let w: WorkerTest;
  beforeEach(async () => {
    w = await startWorkerTest(make);
  });
  afterEach(async () => {
    await w.close();
  });

  it('registers a worker on hello and lists it with its state and leased jobs', async () => {
    const hello = { name: 'build_client_w1', arch: w.arch, suites: [w.suite], backend: 'dpkg', slots: 2, state: 'idle', version: '1.2.3' };
    const seen: string[] = [];
    const off = w.t.c.ctx.events.on((e) => e.type === 'worker.seen' && seen.push(e.name));
    const r = await w.t.req('POST', workerPaths.hello, { json: hello, auth: w.auth });
    off();
    expect(r.status).toBe(200);
    expect(seen).toEqual(['build_client_w1']);
    expect(r.json().heartbeatSeconds).toBeGreaterThan(0);

    const jobId = await w.submit();
    expect((await w.claim(jobId, 'build_client_w1')).status).toBe(200);
    const again = await w.t.req('POST', workerPaths.hello, { json: { ...hello, state: 'building', currentJobs: [jobId] }, auth: w.auth });
    expect(again.status).toBe(200);

    const list = await w.t.get(workerPaths.workers);
    expect(list.status).toBe(200);
    const workers = list.json<unknown[]>().map((x) => WorkerInfo.parse(x));
    const me = workers.find((x) => x.name === 'build_client_w1');
    expect(me).toMatchObject({ arch: w.arch, suites: [w.suite], backend: 'dpkg', slots: 2, state: 'building', online: true, version: '1.2.3' });
    expect(me!.currentJobs).toEqual([jobId]);
    expect(me!.reportedJobs).toEqual([jobId]);
    expect(workers.filter((x) => x.name === 'build_client_w1')).toHaveLength(1);

    // Unseen for three heartbeat periods: offline.
    await w.t.kysely.updateTable('workers').set({ last_seen: '2000-01-01 00:00:00.000000' }).where('name', '=', 'build_client_w1').execute();
    const later = (await w.t.get(workerPaths.workers)).json<WorkerInfo[]>().find((x) => x.name === 'build_client_w1');
    expect(later).toMatchObject({ state: 'offline', online: false });
  });

  it('rejects a hello with a missing field, naming it', async () => {
    const r = await w.t.req('POST', workerPaths.hello, { json: { name: 'x' }, auth: w.auth });
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/arch/);
    expect(await w.t.count('workers')).toBe(0);
  });

  it('lets exactly one of many concurrent claims win', async () => {
    const jobId = await w.submit();
    const names = Array.from({ length: 12 }, (_, i) => `build_client_race${i}`);
    const results = await Promise.all(names.map((n) => w.claim(jobId, n)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(names.length - 1);
    for (const r of results.filter((x) => x.status === 409)) expect(r.json()).toMatchObject({ status: 'Building', statusCode: 409 });

    const claim = ClaimResponse.parse(winners[0]!.json());
    expect(claim.jobId).toBe(jobId);
    expect((claim.request as any).job.id).toBe(jobId);
    expect((claim.request as any)['py/object']).toBe('pybit.models.BuildRequest');
    expect(claim.leaseSeconds).toBe(w.t.c.ctx.config.leaseSeconds);

    const winner = names[results.indexOf(winners[0]!)]!;
    const job = await w.t.kysely.selectFrom('job').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ status: 'Building', lease_owner: winner, attempts: 1 });
    expect(fromDbTime(job.lease_expires_at!).getTime()).toBeGreaterThan(Date.now());
    expect(await history(w.t, jobId)).toEqual(['Waiting', 'Building']);
    // The client is recorded as pyBit records it: a buildclients row and job.buildclient_id.
    const pybitJob = (await w.t.get(`/job/${jobId}`)).json();
    expect(pybitJob.buildclient.name).toBe(winner);
  });

  it('answers 404 for an unknown job and 409 for a cancelled one', async () => {
    expect((await w.claim(999_999, 'build_client_a')).status).toBe(404);
    const jobId = await w.submit();
    expect((await w.t.get(`/job/${jobId}/cancel`, { auth: true })).status).toBe(202);
    const r = await w.claim(jobId, 'build_client_a');
    expect(r.status).toBe(409);
    expect(r.json()).toMatchObject({ status: 'Cancelled' });
    expect(r.json().error).toMatch(/cancelled/);
    expect(await history(w.t, jobId)).toEqual(['Waiting', 'Cancelled']);
  });

  it('requires credentials for every worker write', async () => {
    const jobId = await w.submit();
    const calls = [
      w.t.req('POST', workerPaths.hello, { json: { name: 'n', arch: 'a' } }),
      w.t.req('POST', workerPaths.claim(jobId), { json: { worker: 'build_client_x' } }),
      w.t.req('POST', workerPaths.heartbeat(jobId), { json: { worker: 'build_client_x' } }),
      w.t.req('POST', workerPaths.finish(jobId), { json: { worker: 'build_client_x', status: 'Done' } }),
      w.t.req('PUT', `${workerPaths.log(jobId)}?offset=0&worker=build_client_x`, { raw: 'x', contentType: 'application/octet-stream' }),
      w.t.req('POST', `${workerPaths.artifacts(jobId)}?name=a.deb&worker=build_client_x`, { raw: 'x', contentType: 'application/octet-stream' }),
      w.t.req('POST', `${workerPaths.files}?name=a.txt`, { raw: 'x', contentType: 'application/octet-stream' }),
      w.t.req('POST', workerPaths.claim(jobId), { json: { worker: 'build_client_x' }, auth: { header: 'Bearer bbx_not-a-token' } }),
      w.t.req('POST', workerPaths.claim(jobId), { json: { worker: 'build_client_x' }, auth: { user: 'admin', password: 'wrong' } }),
    ];
    for (const r of await Promise.all(calls)) {
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Basic/);
    }
    expect(await history(w.t, jobId)).toEqual(['Waiting']);
    expect(await w.t.count('files')).toBe(0);
    // Basic credentials of a user work too.
    expect((await w.t.req('POST', workerPaths.claim(jobId), { json: { worker: 'build_client_x' }, auth: true })).status).toBe(200);
  });

  it('renews the lease on heartbeats of the owner only', async () => {
    const jobId = await w.submit();
    tune(w.t, { leaseSeconds: 600 });
    await w.claim(jobId, 'build_client_a');
    const first = (await w.t.kysely.selectFrom('job').select('lease_expires_at').where('id', '=', jobId).executeTakeFirstOrThrow()).lease_expires_at!;
    await new Promise((r) => setTimeout(r, 20));
    const hb = await w.heartbeat(jobId, 'build_client_a');
    expect(hb.status).toBe(200);
    const body = HeartbeatResponse.parse(hb.json());
    expect(body).toMatchObject({ stop: false, status: 'Building' });
    expect(body.leaseExpiresAt! > first).toBe(true);

    const other = HeartbeatResponse.parse((await w.heartbeat(jobId, 'build_client_b')).json());
    expect(other).toMatchObject({ stop: true, reason: 'lease-lost', leaseExpiresAt: null });
    expect((await w.t.kysely.selectFrom('job').select('lease_owner').where('id', '=', jobId).executeTakeFirstOrThrow()).lease_owner).toBe('build_client_a');
    expect((await w.heartbeat(999_999, 'build_client_a')).status).toBe(404);
  });

  it('tells the worker to stop through the heartbeat when the job is cancelled', async () => {
    const jobId = await w.submit();
    await w.claim(jobId, 'build_client_a');
    expect(HeartbeatResponse.parse((await w.heartbeat(jobId, 'build_client_a')).json()).stop).toBe(false);
    // The pyBit cancel of a Building job sends a CancelRequest and leaves the status to the worker.
    expect((await w.t.get(`/job/${jobId}/cancel`, { auth: true })).status).toBe(202);
    expect(await history(w.t, jobId)).toEqual(['Waiting', 'Building']);
    const hb = HeartbeatResponse.parse((await w.heartbeat(jobId, 'build_client_a')).json());
    expect(hb).toMatchObject({ stop: true, status: 'Cancelled', reason: 'cancelled' });

    const fin = await w.finish(jobId, { worker: 'build_client_a', status: 'Cancelled', result: 'ABORTED' });
    expect(fin.status).toBe(200);
    expect(FinishResponse.parse(fin.json())).toMatchObject({ status: 'Cancelled', result: 'ABORTED', repeated: false });
    expect(await history(w.t, jobId)).toEqual(['Waiting', 'Building', 'Cancelled']);
    // After the job is over, the heartbeat still says stop.
    expect(HeartbeatResponse.parse((await w.heartbeat(jobId, 'build_client_a')).json())).toMatchObject({ stop: true, status: 'Cancelled' });
  });

  it('accepts the outcome from the lease owner only, and the same report twice', async () => {
    const jobId = await w.submit();
    await w.claim(jobId, 'build_client_a');
    const stranger = await w.finish(jobId, { worker: 'build_client_b', status: 'Done' });
    expect(stranger.status).toBe(409);
    expect(stranger.json()).toMatchObject({ status: 'Building', leaseOwner: 'build_client_a' });

    const bad = await w.finish(jobId, { worker: 'build_client_a', status: 'Exploded' });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatch(/status/);

    const ok = await w.finish(jobId, { worker: 'build_client_a', status: 'Done', result: 'OK' });
    expect(ok.status).toBe(200);
    expect(FinishResponse.parse(ok.json())).toMatchObject({ status: 'Done', result: 'OK', repeated: false });
    const again = await w.finish(jobId, { worker: 'build_client_a', status: 'Done', result: 'OK' });
    expect(again.status).toBe(200);
    expect(again.json().repeated).toBe(true);
    expect(await history(w.t, jobId)).toEqual(['Waiting', 'Building', 'Done']);
    const job = await w.t.kysely.selectFrom('job').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ status: 'Done', result: 'OK', lease_owner: null, lease_expires_at: null });
    // A different outcome afterwards is refused.
    expect((await w.finish(jobId, { worker: 'build_client_a', status: 'Failed' })).status).toBe(409);
    expect((await w.finish(999_999, { worker: 'build_client_a', status: 'Done' })).status).toBe(404);
  });

  it('blocks a DEPFAIL job, then retries it by itself after the back-off', async () => {
    tune(w.t, { retryBaseSeconds: 1, retryMaxSeconds: 2 });
    const jobId = await w.submit();
    const published = await buildMessages(w.t, jobId);
    await w.claim(jobId, 'build_client_a');
    const fin = await w.finish(jobId, { worker: 'build_client_a', status: 'Blocked', result: 'DEPFAIL', details: 'libfoo-dev (>= 2)' });
    expect(fin.status).toBe(200);
    const res = FinishResponse.parse(fin.json());
    expect(res.status).toBe('Blocked');
    expect(res.retryAt).not.toBeNull();
    const blocked = await w.t.kysely.selectFrom('job').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
    expect(blocked).toMatchObject({ status: 'Blocked', result: 'DEPFAIL', result_details: 'libfoo-dev (>= 2)', lease_owner: null });
    expect(fromDbTime(blocked.retry_at!).getTime()).toBeGreaterThan(Date.now() - 1000);

    await waitFor('the blocked job to be retried', async () => (await history(w.t, jobId)).length === 4);
    expect(await history(w.t, jobId)).toEqual(['Waiting', 'Building', 'Blocked', 'Waiting']);
    expect(await buildMessages(w.t, jobId)).toBe(published + 1);
    const waiting = await w.t.kysely.selectFrom('job').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
    expect(waiting.retry_at).toBeNull();

    // The second failure waits twice as long (capped at retryMaxSeconds).
    expect((await w.claim(jobId, 'build_client_b')).status).toBe(200);
    const before = Date.now();
    const second = FinishResponse.parse((await w.finish(jobId, { worker: 'build_client_b', status: 'Blocked', result: 'DEPFAIL', details: 'x' })).json());
    const after = Date.now();
    // base 1 s doubled = 2 s (the cap), counted from the moment of the report.
    const at = fromDbTime(second.retryAt!).getTime();
    expect(at).toBeGreaterThanOrEqual(before + 2000 - 1);
    expect(at).toBeLessThanOrEqual(after + 2000 + 1);
    expect((await w.t.kysely.selectFrom('job').select('attempts').where('id', '=', jobId).executeTakeFirstOrThrow()).attempts).toBe(2);
  });

  it('puts a GIVENBACK job straight back to Waiting and publishes it again', async () => {
    const jobId = await w.submit();
    const published = await buildMessages(w.t, jobId);
    await w.claim(jobId, 'build_client_a');
    const fin = await w.finish(jobId, { worker: 'build_client_a', status: 'Blocked', result: 'GIVENBACK', details: 'worker stopped' });
    expect(fin.status).toBe(200);
    expect(fin.json()).toMatchObject({ status: 'Waiting', result: 'GIVENBACK', retryAt: null });
    expect(await history(w.t, jobId)).toEqual(['Waiting', 'Building', 'Waiting']);
    expect(await buildMessages(w.t, jobId)).toBe(published + 1);
    // A resend does not publish it a second time.
    expect((await w.finish(jobId, { worker: 'build_client_a', status: 'Blocked', result: 'GIVENBACK' })).json().repeated).toBe(true);
    expect(await buildMessages(w.t, jobId)).toBe(published + 1);
    expect((await w.claim(jobId, 'build_client_b')).status).toBe(200);
  });
});
