// What the controller publishes on a real RabbitMQ for pyBit requests (spec/pybit.md §4;
// checklist §10.15–§10.17, §10.22, §10.23, §10.25, §10.34–§10.36, §10.38, §10.39, §10.46).
// Every test has its own suite and client names, so queue names never collide between tests.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import type { GetMessage } from 'amqplib';
import { AMQP_TEST_URL, DIALECTS, uniqueName } from '../helpers/db';
import { Broker, body, history, hookForm, setupSuite, startTestController, waitFor, type Res, type TestController } from '../helpers/controller';

const ok = (r: Res) => expect(r.status, r.text).toBe(200);

describe.each(DIALECTS)('pyBit AMQP dispatch ($name)', ({ make }) => {
  let t: TestController;
  let broker: Broker;
  let suite: string;
  const q = (arch: string, s = suite) => `Debian_${arch}_${s}_deb`;

  beforeEach(async () => {
    broker = await Broker.open();
    t = await startTestController(make, { amqp: AMQP_TEST_URL });
    suite = uniqueName('suite');
    await setupSuite(t, suite, [
      { name: 'armel', weight: 0 },
      { name: 'i386', weight: 1 },
    ]);
    broker.track(q('i386'), q('armel'));
  });
  afterEach(async () => {
    await t?.close();
    await broker?.close();
  });

  const hook = (over: Record<string, string> = {}) => t.post('/job/vcshook', hookForm({ suite, ...over }));
  const jobIds = async () => (await t.kysely.selectFrom('job').select('id').orderBy('id').execute()).map((r) => r.id);
  /** Every outbox row has been confirmed by the broker (or given up on). */
  const flushed = () =>
    waitFor('outbox flushed', async () => {
      const pending = await t.kysely.selectFrom('outbox').select('id').where('sent_at', 'is', null).where('dead_at', 'is', null).execute();
      return pending.length === 0;
    });
  /** Everything on `queue` once the outbox is flushed. */
  const settle = async (queue: string) => {
    await flushed();
    return broker.drain(queue);
  };
  const jobIdsOf = (msgs: GetMessage[]) => msgs.map((m) => body(m).job.id as number);

  it('§10.15 one persistent BuildRequest per job on the durable queue <dist>_<arch>_<suite>_<format>', async () => {
    ok(await hook());
    const [i386Job, armelJob] = await jobIds();
    const i386 = await broker.take(q('i386'), 1);
    const armel = await broker.take(q('armel'), 1);
    await flushed();
    i386.push(...(await broker.drain(q('i386'))));
    armel.push(...(await broker.drain(q('armel'))));
    expect(jobIdsOf(i386)).toEqual([i386Job]);
    expect(jobIdsOf(armel)).toEqual([armelJob]);

    for (const [m, arch, master] of [
      [i386[0]!, 'i386', true],
      [armel[0]!, 'armel', false],
    ] as const) {
      expect(m.properties.deliveryMode).toBe(2);
      expect(m.fields.exchange).toBe('pybit');
      expect(m.fields.routingKey).toBe(`Debian.${arch}.${suite}.deb`);
      const b = body(m);
      expect(Object.keys(b)).toEqual(['py/object', 'job', 'transport', 'web_host', 'timestamp']);
      expect(b['py/object']).toBe('pybit.models.BuildRequest');
      expect(b.timestamp).toBeNull();
      expect(b.web_host).toBe(new URL(t.url).host);
      expect(b.transport).toEqual({ 'py/object': 'pybit.models.Transport', id: null, method: 'svn', uri: 'http://svn/hello', vcs_id: '42' });
      expect(Object.keys(b.job)).toEqual(['py/object', 'id', 'packageinstance', 'buildclient']);
      expect(b.job.buildclient).toBeNull();
      const pi = b.job.packageinstance;
      expect(pi['py/object']).toBe('pybit.models.PackageInstance');
      expect(pi.package).toMatchObject({ 'py/object': 'pybit.models.Package', version: '1.0-1', name: 'hello' });
      expect(pi.arch).toEqual({ 'py/object': 'pybit.models.Arch', id: await t.idOf('arch', arch), name: arch });
      expect(pi.suite).toEqual({ 'py/object': 'pybit.models.Suite', id: await t.idOf('suite', suite), name: suite });
      expect(pi.distribution).toMatchObject({ 'py/object': 'pybit.models.Dist', name: 'Debian' });
      expect(pi.format).toMatchObject({ 'py/object': 'pybit.models.Format', name: 'deb' });
      expect(pi.build_env).toBeNull();
      expect(pi.master).toBe(master);
      // the message's job is exactly what GET /job/<id> answers
      expect(b.job).toEqual((await t.get(`/job/${b.job.id}`)).json());
    }

    // The queue is durable (a redeclare with other flags would fail) and bound with the routing key.
    const conn = await amqp.connect(AMQP_TEST_URL);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue(q('i386'), { durable: true, exclusive: false, autoDelete: false });
      ch.publish('pybit', `Debian.i386.${suite}.deb`, Buffer.from('probe'));
      await ch.close();
    } finally {
      await conn.close();
    }
    const probe = await broker.take(q('i386'), 1, { settleMs: 0 });
    expect(probe.map((m) => m.content.toString())).toEqual(['probe']);
  });

  it('§10.16 §10.17 "all" publishes only to the master arch queue; "armel" only to armel', async () => {
    ok(await hook({ architecture_list: 'all' }));
    const [allJob] = await jobIds();
    expect(jobIdsOf(await broker.take(q('i386'), 1))).toEqual([allJob]);
    expect(await settle(q('armel'))).toEqual([]);
    ok(await hook({ architecture_list: 'armel', package: 'other' }));
    const armelJob = (await jobIds())[1]!;
    const msgs = await broker.take(q('armel'), 1);
    expect(jobIdsOf(msgs)).toEqual([armelJob]);
    expect(body(msgs[0]!).job.packageinstance.master).toBe(true);
    expect(await settle(q('i386'))).toEqual([]);
  });

  it('§10.22 build environments: one message per (env, arch) on the arch queue, each carrying its build_env', async () => {
    const env1 = uniqueName('squeeze');
    const env2 = uniqueName('wheezy');
    ok(await t.put('/env', { name: env1 }));
    ok(await t.put('/env', { name: env2 }));
    const sa = (await t.get('/suitearch')).json<Array<{ id: number; suite: { name: string }; arch: { name: string } }>>().filter((s) => s.suite.name === suite);
    for (const s of sa) for (const e of [env1, env2]) ok(await t.put('/buildenv_suitearch', { buildenv_id: await t.idOf('buildenv', e), suitearch_id: s.id }));
    ok(await hook());
    const i386 = await broker.take(q('i386'), 2);
    const armel = await broker.take(q('armel'), 2);
    await flushed();
    expect(i386.map((m) => [body(m).job.packageinstance.build_env.name, body(m).job.packageinstance.master])).toEqual([
      [env1, true],
      [env2, true],
    ]);
    expect(armel.map((m) => [body(m).job.packageinstance.build_env.name, body(m).job.packageinstance.master])).toEqual([
      [env1, false],
      [env2, false],
    ]);
    expect(new Set([...jobIdsOf(i386), ...jobIdsOf(armel)])).toEqual(new Set(await jobIds()));
  });

  it('§10.23 a blacklisted submission publishes nothing', async () => {
    ok(await t.put('/blacklist', { field: 'name', regex: '(.*-dev)' }));
    const r = await hook({ package: 'foo-dev' });
    expect(r.status).toBe(403);
    ok(await hook({ package: 'foo', architecture_list: 'armel' }));
    // the accepted one arrives; nothing for the refused one on either queue
    const armel = await broker.take(q('armel'), 1);
    expect(armel.map((m) => body(m).job.packageinstance.package.name)).toEqual(['foo']);
    expect(await settle(q('i386'))).toEqual([]);
    expect(await broker.drain(q('armel'))).toEqual([]);
  });

  it('§10.25 POST /job publishes exactly one BuildRequest for the instance', async () => {
    ok(await hook({ architecture_list: 'all' }));
    await broker.take(q('i386'), 1);
    const pi = (await t.get('/packageinstance')).json<Array<{ id: number }>>()[0]!;
    ok(await t.post('/job', { packageinstance_id: pi.id, method: 'git', uri: 'https://git/x.git', vcs_id: 'main' }));
    const newest = Math.max(...(await jobIds()));
    const msgs = await broker.take(q('i386'), 1);
    await flushed();
    msgs.push(...(await broker.drain(q('i386'))));
    expect(jobIdsOf(msgs)).toEqual([newest]);
    expect(body(msgs[0]!).transport).toMatchObject({ method: 'git', uri: 'https://git/x.git', vcs_id: 'main' });
    expect(await broker.drain(q('armel'))).toEqual([]);
  });

  it('§10.34 cancelling a non-Building job sends nothing, even to the client that had it', async () => {
    const client = uniqueName('build_client');
    await broker.bind(client);
    ok(await hook({ architecture_list: 'all' }));
    const [job] = await jobIds();
    await broker.take(q('i386'), 1);
    ok(await t.put(`/job/${job}`, { status: 'Building', client }));
    ok(await t.put(`/job/${job}`, { status: 'Blocked' }));
    expect((await t.get(`/job/${job}/cancel`, { auth: true })).status).toBe(202);
    expect(await history(t, job!)).toEqual(['Waiting', 'Building', 'Blocked', 'Cancelled']);
    expect(await settle(client)).toEqual([]);
    expect(await broker.drain(q('i386'))).toEqual([]);
  });

  it('§10.35 cancelling a Building job sends one CancelRequest to the client routing key; the status stays', async () => {
    const client = uniqueName('build_client');
    await broker.bind(client);
    ok(await hook({ architecture_list: 'all' }));
    const [job] = await jobIds();
    await broker.take(q('i386'), 1);
    ok(await t.put(`/job/${job}`, { status: 'Building', client }));
    expect((await t.get(`/job/${job}/cancel`, { auth: true })).status).toBe(202);
    const msgs = await broker.take(client, 1);
    await flushed();
    msgs.push(...(await broker.drain(client)));
    expect(msgs.length).toBe(1);
    const m = msgs[0]!;
    expect(m.fields.exchange).toBe('pybit');
    expect(m.fields.routingKey).toBe(client);
    expect(m.properties.deliveryMode).toBe(2);
    const b = body(m);
    expect(Object.keys(b)).toEqual(['py/object', 'job', 'web_host']);
    expect(b['py/object']).toBe('pybit.models.CancelRequest');
    expect(b.web_host).toBe(new URL(t.url).host);
    expect(b.job.id).toBe(job);
    expect(b.job.buildclient).toMatchObject({ 'py/object': 'pybit.models.BuildD', name: client });
    expect(await history(t, job!)).toEqual(['Waiting', 'Building']);
    // the client then reports Cancelled itself
    ok(await t.put(`/job/${job}`, { status: 'Cancelled' }));
    expect((await t.get('/job/status')).json()).toEqual([]);
  });

  it('§10.36 cancel-all: CancelRequests for Building jobs on each client, Cancelled rows for the rest, no build messages', async () => {
    const c1 = uniqueName('build_client');
    const c2 = uniqueName('build_client');
    await broker.bind(c1);
    await broker.bind(c2);
    for (const p of ['a1', 'a2']) ok(await hook({ package: p }));
    const ids = await jobIds();
    await broker.take(q('i386'), 2);
    await broker.take(q('armel'), 2);
    ok(await t.put(`/job/${ids[0]}`, { status: 'Building', client: c1 }));
    ok(await t.put(`/job/${ids[1]}`, { status: 'Building', client: c2 }));
    ok(await t.put(`/job/${ids[2]}`, { status: 'Failed' }));
    expect((await t.req('DELETE', '/job', { auth: true })).status).toBe(202);
    const m1 = await broker.take(c1, 1);
    const m2 = await broker.take(c2, 1);
    await flushed();
    m1.push(...(await broker.drain(c1)));
    m2.push(...(await broker.drain(c2)));
    expect(jobIdsOf(m1)).toEqual([ids[0]]);
    expect(jobIdsOf(m2)).toEqual([ids[1]]);
    expect(await history(t, ids[2]!)).toEqual(['Waiting', 'Failed', 'Cancelled']);
    expect(await history(t, ids[3]!)).toEqual(['Waiting', 'Cancelled']);
    expect(await broker.drain(q('i386'))).toEqual([]);
    expect(await broker.drain(q('armel'))).toEqual([]);
  });

  it('§10.38 superseding a Building job sends its client a CancelRequest; the new job is published', async () => {
    const client = uniqueName('build_client');
    await broker.bind(client);
    ok(await hook({ architecture_list: 'i386', package_version: '1.0-1' }));
    const [old] = await jobIds();
    await broker.take(q('i386'), 1);
    ok(await t.put(`/job/${old}`, { status: 'Building', client }));
    ok(await hook({ architecture_list: 'i386', package_version: '1.1-1' }));
    const fresh = Math.max(...(await jobIds()));
    expect(jobIdsOf(await broker.take(client, 1))).toEqual([old]);
    const built = await broker.take(q('i386'), 1);
    expect(jobIdsOf(built)).toEqual([fresh]);
    expect(body(built[0]!).job.packageinstance.package.version).toBe('1.1-1');
    // an older version does not cancel the newer one (no message to anyone)
    ok(await t.put(`/job/${fresh}`, { status: 'Building', client }));
    ok(await hook({ architecture_list: 'i386', package_version: '0.9-1' }));
    await broker.take(q('i386'), 1);
    expect(await settle(client)).toEqual([]);
  });

  it('§10.39 retry publishes one BuildRequest for the new job with the logged transport', async () => {
    ok(await hook({ architecture_list: 'armel', method: 'git', uri: 'https://git/hello.git', vcs_id: 'abc' }));
    const [old] = await jobIds();
    await broker.take(q('armel'), 1);
    ok(await t.put(`/job/${old}`, { status: 'Failed' }));
    ok(await t.get(`/job/${old}/retry`, { auth: true }));
    const fresh = Math.max(...(await jobIds()));
    expect(fresh).toBeGreaterThan(old!);
    const msgs = await broker.take(q('armel'), 1);
    await flushed();
    msgs.push(...(await broker.drain(q('armel'))));
    expect(jobIdsOf(msgs)).toEqual([fresh]);
    expect(body(msgs[0]!).transport).toEqual({ 'py/object': 'pybit.models.Transport', id: null, method: 'git', uri: 'https://git/hello.git', vcs_id: 'abc' });
    expect(await history(t, old!)).toEqual(['Waiting', 'Failed', 'Cancelled']);
  });

  it('§10.46 /buildd/<name>/status is Active while a client holds its exclusive queue, else Not Active', async () => {
    const client = uniqueName('build_client');
    const before = await t.get(`/buildd/${client}/status`);
    expect(before.status).toBe(200);
    expect(before.text).toBe('Not Active');
    const holder = await broker.exclusiveHolder(client);
    try {
      const during = await t.get(`/buildd/${client}/status`);
      expect(during.text).toBe('Active');
      expect(during.headers.get('access-control-allow-origin')).toBe('*');
    } finally {
      await holder.release();
    }
    await waitFor('queue released', async () => (await t.get(`/buildd/${client}/status`)).text === 'Not Active');
    // a queue that exists but is not exclusive (anyone may use it) is not a live client
    const shared = uniqueName('build_client');
    await broker.bind(shared);
    expect((await t.get(`/buildd/${shared}/status`)).text).toBe('Not Active');
    // the probe does not disturb the controller's own publishing
    ok(await hook({ architecture_list: 'all' }));
    expect((await broker.take(q('i386'), 1)).length).toBe(1);
  });
});
