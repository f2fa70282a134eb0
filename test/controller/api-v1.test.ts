// /api/v1 for the UI and CLI over real HTTP, on SQLite and PostgreSQL: the job list's filters
// and cursor pagination (checked against the database itself), job detail, stats, lookups,
// the authenticated writes with their status rules, and the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes, type JobListResponse, type JobSummary } from '../../src-shared/api';
import { hashToken, newToken } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import { DIALECTS, uniqueName } from '../helpers/db';
import { history, hookForm, setupSuite, startTestController, type TestController } from '../helpers/controller';

interface Truth {
  id: number;
  package: string;
  version: string;
  arch: string;
  suite: string;
  dist: string;
  environment: string | null;
  status: string;
  client: string | null;
}

/** Every job with its names, straight from the database: what the filters must agree with. */
async function truth(t: TestController): Promise<Truth[]> {
  const rows = await t.kysely
    .selectFrom('job as j')
    .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
    .innerJoin('package as p', 'p.id', 'pi.package_id')
    .innerJoin('arch as a', 'a.id', 'pi.arch_id')
    .innerJoin('suite as s', 's.id', 'pi.suite_id')
    .innerJoin('distribution as d', 'd.id', 'pi.dist_id')
    .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
    .leftJoin('buildclients as bc', 'bc.id', 'j.buildclient_id')
    .select(['j.id', 'p.name as package', 'p.version', 'a.name as arch', 's.name as suite', 'd.name as dist', 'be.name as environment', 'j.status', 'bc.name as client'])
    .orderBy('j.id', 'desc')
    .execute();
  return rows as Truth[];
}

/** What `q` means: a case-insensitive substring of the package name, version or client. */
const qMatch = (j: Truth, q: string) => [j.package, j.version, j.client ?? ''].some((s) => s.toLowerCase().includes(q.toLowerCase()));

const ids = (items: Array<{ id: number }>) => items.map((j) => j.id);

describe.each(DIALECTS)('/api/v1 ($name)', ({ make }) => {
  let t: TestController;
  let suite: string;
  let suite2: string;
  let env: string;
  let client: string;

  const list = async (qs: string): Promise<JobListResponse> => {
    const r = await t.get(`/api/v1/jobs${qs}`);
    expect(r.status, r.text).toBe(200);
    return r.json();
  };
  /** All pages of a filter, walked with the cursor. */
  const walk = async (qs: string, limit: number) => {
    const seen: JobSummary[] = [];
    const totals = new Set<number>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = qs ? '&' : '?';
      const page = await list(`${qs}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      seen.push(...page.items);
      totals.add(page.total);
      cursor = page.nextCursor;
      if (++pages > 1000) throw new Error('pagination does not end');
    } while (cursor);
    return { seen, totals, pages };
  };
  const submitHook = (over: Record<string, string>) => t.post('/job/vcshook', hookForm(over));
  const setStatus = (id: number, status: string, clientName?: string) => t.put(`/job/${id}`, clientName ? { status, client: clientName } : { status });

  beforeAll(async () => {
    t = await startTestController(make);
    suite = uniqueName('suite').toLowerCase();
    suite2 = uniqueName('other').toLowerCase();
    env = uniqueName('env');
    client = uniqueName('build_client');
    await setupSuite(t, suite, [
      { name: 'amd64', weight: 2 },
      { name: 'i386', weight: 1 },
      { name: 'armel', weight: 0 },
    ]);
    const s2 = await setupSuite(t, suite2, [{ name: 'amd64', weight: 1 }]);
    // suite2/amd64 builds in a named environment.
    expect((await t.put('/env', { name: env })).status).toBe(200);
    const envId = await t.idOf('buildenv', env);
    expect((await t.put('/buildenv_suitearch', { buildenv_id: envId, suitearch_id: s2.suiteArchIds.amd64! })).status).toBe(200);

    // Varied jobs: 3 packages × versions × arches, some in suite2.
    for (const [pkg, versions] of [
      ['hello', ['1.0-1', '1.1-1']],
      ['zlib', ['1:1.2.13-1']],
      ['libfoo', ['2.0-1', '2.0-2', '2.1-1']],
    ] as const) {
      for (const v of versions) {
        const r = await submitHook({ package: pkg, package_version: v, suite, architecture_list: 'any' });
        expect(r.status, r.text).toBe(200);
      }
    }
    expect((await submitHook({ package: 'hello', package_version: '1.1-1', suite: suite2, architecture_list: 'any' })).status).toBe(200);
    expect((await submitHook({ package: 'other-pkg', package_version: '0.1', suite: suite2, architecture_list: 'amd64' })).status).toBe(200);
    // Move some jobs along, with a client.
    const waiting = (await truth(t)).filter((j) => j.status === 'Waiting');
    expect(waiting.length).toBeGreaterThan(6);
    await setStatus(waiting[0]!.id, 'Building', client);
    await setStatus(waiting[1]!.id, 'Building', client);
    await setStatus(waiting[1]!.id, 'Done', client);
    await setStatus(waiting[2]!.id, 'Building', client);
    await setStatus(waiting[2]!.id, 'Failed', client);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists every job newest first with the documented fields', async () => {
    const all = await truth(t);
    const page = await list('?limit=500');
    expect(page.total).toBe(all.length);
    expect(ids(page.items)).toEqual(ids(all));
    expect(page.nextCursor).toBeNull();
    const j = page.items[0]!;
    expect(Object.keys(j).sort()).toEqual(
      ['id', 'package', 'version', 'arch', 'suite', 'dist', 'format', 'environment', 'master', 'status', 'client', 'result', 'resultDetails', 'createdAt', 'updatedAt', 'attempts'].sort(),
    );
    expect(new Date(j.createdAt).toISOString()).toBe(j.createdAt);
    // The master of a fan-out is the highest-weight arch.
    const hello = page.items.filter((x) => x.package === 'hello' && x.version === '1.0-1' && x.suite === suite);
    expect(hello.filter((x) => x.master).map((x) => x.arch)).toEqual(['amd64']);
  });

  it('narrows by each filter exactly as the database says', async () => {
    const all = await truth(t);
    const cases: Array<[string, (j: Truth) => boolean]> = [
      ['status=Waiting', (j) => j.status === 'Waiting'],
      ['status=Building&status=Done', (j) => j.status === 'Building' || j.status === 'Done'],
      ['status=Failed,Cancelled', (j) => j.status === 'Failed' || j.status === 'Cancelled'],
      ['package=hello', (j) => j.package === 'hello'],
      ['version=2.0-2', (j) => j.version === '2.0-2'],
      ['package=libfoo&version=2.1-1', (j) => j.package === 'libfoo' && j.version === '2.1-1'],
      ['arch=armel', (j) => j.arch === 'armel'],
      [`suite=${suite2}`, (j) => j.suite === suite2],
      ['dist=Debian', (j) => j.dist === 'Debian'],
      [`environment=${env}`, (j) => j.environment === env],
      ['environment=', (j) => j.environment === null],
      [`client=${client}`, (j) => j.client === client],
      ['client=', (j) => j.client === null],
      ['q=LIBF', (j) => qMatch(j, 'libf')],
      ['q=1.2.13', (j) => qMatch(j, '1.2.13')],
      [`q=${client.slice(-6)}`, (j) => qMatch(j, client.slice(-6))],
      // '_' is literal, not LIKE's any-character ('other-pkg' must not match).
      ['q=_pkg', (j) => qMatch(j, '_pkg')],
      [`package=hello&arch=amd64&suite=${suite}&status=Waiting,Cancelled`, (j) => j.package === 'hello' && j.arch === 'amd64' && j.suite === suite && ['Waiting', 'Cancelled'].includes(j.status)],
      ['arch=nosucharch', () => false],
    ];
    for (const [qs, pred] of cases) {
      const want = all.filter(pred);
      const page = await list(`?${qs}&limit=500`);
      expect(ids(page.items), qs).toEqual(ids(want));
      expect(page.total, qs).toBe(want.length);
      if (!['dist=Debian', 'arch=nosucharch', 'q=_pkg'].includes(qs)) {
        expect(want.length, `${qs} selects something`).toBeGreaterThan(0);
        if (qs !== 'environment=') expect(want.length, `${qs} narrows`).toBeLessThan(all.length);
      }
    }
  });

  it('walks all rows exactly once with stable totals, with and without a filter', async () => {
    const all = await truth(t);
    for (const [qs, want] of [
      ['', all],
      [`?suite=${suite}`, all.filter((j) => j.suite === suite)],
    ] as const) {
      for (const limit of [1, 4, 7]) {
        const { seen, totals, pages } = await walk(qs, limit);
        expect(ids(seen)).toEqual(ids(want));
        expect(new Set(ids(seen)).size).toBe(seen.length);
        expect([...totals]).toEqual([want.length]);
        expect(pages).toBe(Math.max(1, Math.ceil(want.length / limit)));
      }
    }
  });

  it('adds counts by status on request, for every filter but status', async () => {
    const all = await truth(t);
    const page = await list(`?counts=1&suite=${suite}&status=Waiting`);
    const want: Record<string, number> = {};
    for (const j of all.filter((x) => x.suite === suite)) want[j.status] = (want[j.status] ?? 0) + 1;
    expect(page.counts).toEqual(want);
    expect(page.total).toBe(want.Waiting);
    expect((await list('?limit=1')).counts).toBeUndefined();
  });

  it('answers bad query parameters with a 400 naming the parameter', async () => {
    for (const [qs, name] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=2.5', 'limit'],
      ['status=Nope', 'status'],
      ['status=Waiting,waiting', 'status'],
      ['cursor=xyz!', 'cursor'],
      ['counts=yes', 'counts'],
      ['package=a&package=b', 'package'],
      ['sort=id', 'sort'],
      ['q=%01', 'q'],
    ]) {
      const r = await t.get(`/api/v1/jobs?${qs}`);
      expect(r.status, qs).toBe(400);
      const body = r.json();
      expect(body.statusCode).toBe(400);
      expect(body.error, qs).toContain(`'${name}'`);
    }
    expect((await t.get('/api/v1/jobs/abc')).status).toBe(400);
    expect((await t.get('/api/v1/jobs/0')).status).toBe(400);
  });

  it('shows a job with its status history in time order', async () => {
    const r0 = await t.req('POST', '/api/v1/jobs', {
      auth: true,
      json: { package: 'histpkg', version: '1.0', arch_list: 'amd64', dist: 'Debian', suite, format: 'deb', method_type: 'git', uri: 'https://git.example/histpkg', vcs_id: 'abc123' },
    });
    expect(r0.status, r0.text).toBe(201);
    const [id] = r0.json().jobIds as number[];
    await setStatus(id!, 'Building', client);
    await setStatus(id!, 'Failed', client);
    const r = await t.get(`/api/v1/jobs/${id}`);
    expect(r.status, r.text).toBe(200);
    const job = r.json();
    expect(job).toMatchObject({ id, package: 'histpkg', version: '1.0', arch: 'amd64', suite, status: 'Failed', client, master: true });
    expect(job.history.map((h: { status: string }) => h.status)).toEqual(['Waiting', 'Building', 'Failed']);
    const times = job.history.map((h: { time: string }) => Date.parse(h.time));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(job.transport).toEqual({ method: 'git', uri: 'https://git.example/histpkg', vcsId: 'abc123' });
    const missing = await t.get('/api/v1/jobs/999999');
    expect(missing.status).toBe(404);
    expect(missing.json().statusCode).toBe(404);
  });

  it('reports stats from the database: counts, oldest Waiting, queue depths', async () => {
    const all = await truth(t);
    const r = await t.get('/api/v1/stats');
    expect(r.status).toBe(200);
    const s = r.json();
    const counts: Record<string, number> = { Waiting: 0, Blocked: 0, Cancelled: 0, Building: 0, Failed: 0, Uploaded: 0, Done: 0 };
    for (const j of all) counts[j.status] = (counts[j.status] ?? 0) + 1;
    expect(s.counts).toEqual(counts);
    expect(s.total).toBe(all.length);
    const depth = new Map<string, number>();
    for (const j of all.filter((x) => x.status === 'Waiting')) {
      const q = `${j.dist}_${j.arch}_${j.suite}_deb`;
      depth.set(q, (depth.get(q) ?? 0) + 1);
    }
    expect(Object.fromEntries(s.queues.map((q: { queue: string; depth: number }) => [q.queue, q.depth]))).toEqual(Object.fromEntries(depth));
    expect(s.oldestWaitingSeconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(s.oldestWaitingSince)).toBeLessThanOrEqual(Date.now());
  });

  it('returns every lookup table with ids', async () => {
    expect((await t.put('/blacklist', { field: 'name', regex: '^forbidden-' })).status).toBe(200);
    const r = await t.get('/api/v1/lookups');
    expect(r.status).toBe(200);
    const l = r.json();
    const suiteId = await t.idOf('suite', suite);
    expect(l.suites).toContainEqual({ id: suiteId, name: suite });
    expect(l.arches.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['amd64', 'i386', 'armel']));
    expect(l.distributions).toContainEqual({ id: await t.idOf('distribution', 'Debian'), name: 'Debian' });
    expect(l.formats).toContainEqual({ id: await t.idOf('format', 'deb'), name: 'deb' });
    expect(l.statuses.map((s: { name: string }) => s.name)).toEqual(['Waiting', 'Blocked', 'Cancelled', 'Building', 'Failed', 'Uploaded', 'Done']);
    expect(l.buildEnvs).toContainEqual({ id: await t.idOf('buildenv', env), name: env });
    const sa = l.suiteArches.filter((x: { suite: string }) => x.suite === suite);
    expect(sa.map((x: { arch: string; masterWeight: number }) => [x.arch, x.masterWeight])).toEqual([
      ['amd64', 2],
      ['i386', 1],
      ['armel', 0],
    ]);
    expect(sa[0]).toMatchObject({ suiteId, archId: await t.idOf('arch', 'amd64') });
    expect(l.buildEnvSuiteArches).toContainEqual(expect.objectContaining({ buildEnv: env, suite: suite2, arch: 'amd64' }));
    expect(l.blacklist).toContainEqual(expect.objectContaining({ field: 'name', regex: '^forbidden-' }));
  });

  describe('writes', () => {
    const body = (over: Record<string, unknown> = {}) => ({
      package: uniqueName('w').toLowerCase().replace(/_/g, '-'),
      version: '1.0-1',
      arch_list: ['amd64', 'i386'],
      dist: 'Debian',
      suite,
      format: 'deb',
      method_type: 'git',
      uri: 'https://git.example/pkg',
      vcs_id: 'deadbeef',
      ...over,
    });
    const submit = async (over: Record<string, unknown> = {}) => {
      const r = await t.req('POST', '/api/v1/jobs', { auth: true, json: body(over) });
      expect(r.status, r.text).toBe(201);
      return r.json().jobIds as number[];
    };
    const statusOf = async (id: number) => (await t.kysely.selectFrom('job').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
    const outboxFor = async (id: number) => t.kysely.selectFrom('outbox').selectAll().where('job_id', '=', id).orderBy('id').execute();

    it('refuses writes without valid user credentials, writing nothing', async () => {
      const before = await t.counts();
      const workerToken = newToken();
      await t.kysely.insertInto('tokens').values({ user_id: null, name: 'w1', kind: 'worker', token_hash: hashToken(workerToken), created_at: nowText(), revoked_at: null }).execute();
      for (const [auth, code] of [
        [undefined, 401],
        [{ user: 'admin', password: 'wrong' }, 401],
        [{ header: 'Bearer bbx_nope' }, 401],
        [{ header: `Bearer ${workerToken}` }, 403],
      ] as const) {
        for (const [path, json] of [
          ['/api/v1/jobs', body()],
          ['/api/v1/jobs/1/cancel', undefined],
          ['/api/v1/jobs/1/retry', undefined],
          ['/api/v1/jobs/cancel', { all: true, confirm: 'cancel-all' }],
        ] as const) {
          const r = await t.req('POST', path, { auth, json });
          expect(r.status, `${path} ${JSON.stringify(auth)}`).toBe(code);
          expect(r.json()).toMatchObject({ statusCode: code });
          if (code === 401) expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
        }
      }
      expect(await t.counts()).toEqual(before);
    });

    it('submits vcshook fields and answers with the created job ids', async () => {
      const user = newToken();
      const adminId = (await t.kysely.selectFrom('users').select('id').where('name', '=', 'admin').executeTakeFirstOrThrow()).id;
      await t.kysely.insertInto('tokens').values({ user_id: adminId, name: 'ui', kind: 'user', token_hash: hashToken(user), created_at: nowText(), revoked_at: null }).execute();
      const r = await t.req('POST', '/api/v1/jobs', { auth: { header: `Bearer ${user}` }, json: body({ arch_list: 'any' }) });
      expect(r.status, r.text).toBe(201);
      const { jobIds, superseded } = r.json();
      expect(jobIds).toHaveLength(3);
      expect(superseded).toEqual([]);
      for (const id of jobIds) {
        expect(await statusOf(id)).toBe('Waiting');
        expect(await outboxFor(id)).toHaveLength(1);
      }
      // In a named environment only.
      const envJobs = await submit({ suite: suite2, arch_list: 'any', environment: env });
      const detail = (await t.get(`/api/v1/jobs/${envJobs[0]}`)).json();
      expect(detail.environment).toBe(env);
    });

    it('submits for an existing package instance, reusing its last transport', async () => {
      const [first] = await submit({ arch_list: 'i386' });
      const piId = (await t.get(`/api/v1/jobs/${first}`)).json().packageinstanceId;
      const r = await t.req('POST', '/api/v1/jobs', { auth: true, json: { packageinstanceId: piId } });
      expect(r.status, r.text).toBe(201);
      const { jobIds, superseded } = r.json();
      expect(jobIds).toHaveLength(1);
      expect(superseded).toEqual([first]);
      const again = (await t.get(`/api/v1/jobs/${jobIds[0]}`)).json();
      expect(again).toMatchObject({ packageinstanceId: piId, arch: 'i386', transport: { method: 'git', uri: 'https://git.example/pkg', vcsId: 'deadbeef' } });
      const explicit = await t.req('POST', '/api/v1/jobs', { auth: true, json: { packageinstanceId: piId, method_type: 'svn', uri: 'http://svn/x', vcs_id: '7' } });
      expect(explicit.status, explicit.text).toBe(201);
      expect((await t.get(`/api/v1/jobs/${explicit.json().jobIds[0]}`)).json().transport).toEqual({ method: 'svn', uri: 'http://svn/x', vcsId: '7' });
      const unknown = await t.req('POST', '/api/v1/jobs', { auth: true, json: { packageinstanceId: 999999 } });
      expect(unknown.status).toBe(404);
      expect(unknown.json().error).toContain('packageinstanceId');
    });

    it('rejects bad submissions with a 400 naming the field, writing nothing', async () => {
      const before = await t.counts();
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ package: undefined }, 'package'],
        [{ arch_list: 5 }, 'arch_list'],
        [{ arch_list: [] }, 'arch_list'],
        [{ method_type: '' }, 'method_type'],
        [{ uri: '' }, 'uri'],
        [{ version: 'not a version!' }, 'version'],
        [{ package: 'Bad_Name' }, 'package'],
        [{ suite: 'no-such-suite' }, 'suite'],
        [{ arch_list: 'sparc' }, 'architecture'],
        [{ method: 'git' }, 'method'],
        [{ environment: 5 }, 'environment'],
        [{ vcs_id: 'a\nb' }, 'vcs_id'],
      ];
      for (const [over, field] of cases) {
        const r = await t.req('POST', '/api/v1/jobs', { auth: true, json: body(over) });
        expect(r.status, `${JSON.stringify(over)}: ${r.text}`).toBe(400);
        expect(r.json().error, JSON.stringify(over)).toContain(field);
      }
      const notJson = await t.req('POST', '/api/v1/jobs', { auth: true, raw: '{nope', contentType: 'application/json' });
      expect(notJson.status).toBe(400);
      const blacklisted = await t.req('POST', '/api/v1/jobs', { auth: true, json: body({ package: 'forbidden-pkg' }) });
      expect(blacklisted.status).toBe(403);
      expect(await t.counts()).toEqual(before);
    });

    it('cancels unfinished jobs only (409 when finished, 404 when unknown)', async () => {
      const [a, b] = await submit();
      const r = await t.req('POST', `/api/v1/jobs/${a}/cancel`, { auth: true });
      expect(r.status, r.text).toBe(200);
      expect(r.json()).toEqual({ id: a, status: 'Cancelled', cancelRequested: false });
      expect(await history(t, a!)).toEqual(['Waiting', 'Cancelled']);
      const again = await t.req('POST', `/api/v1/jobs/${a}/cancel`, { auth: true });
      expect(again.status).toBe(409);
      expect(await history(t, a!)).toEqual(['Waiting', 'Cancelled']);
      // A Building job's client is asked to stop; the job stays Building until it reports.
      await setStatus(b!, 'Building', client);
      const building = await t.req('POST', `/api/v1/jobs/${b}/cancel`, { auth: true });
      expect(building.json()).toEqual({ id: b, status: 'Building', cancelRequested: true });
      const msgs = await outboxFor(b!);
      expect(msgs.at(-1)!.routing_key).toBe(client);
      expect(JSON.parse(msgs.at(-1)!.body)['py/object']).toBe('pybit.models.CancelRequest');
      expect((await t.req('POST', '/api/v1/jobs/999999/cancel', { auth: true })).status).toBe(404);
    });

    it('retries Failed, Cancelled and Blocked jobs by re-enqueueing their BuildRequest; 409 otherwise', async () => {
      const [a, b, c] = await submit({ arch_list: 'any' });
      await setStatus(a!, 'Building', client);
      await setStatus(a!, 'Failed', client);
      await t.kysely.updateTable('job').set({ result: 'PACKAGEFAIL', result_details: 'boom' }).where('id', '=', a!).execute();
      await setStatus(b!, 'Cancelled');
      await setStatus(c!, 'Blocked');
      for (const id of [a!, b!, c!]) {
        const before = (await outboxFor(id)).length;
        const r = await t.req('POST', `/api/v1/jobs/${id}/retry`, { auth: true });
        expect(r.status, r.text).toBe(200);
        expect(r.json()).toEqual({ id, status: 'Waiting' });
        expect(await statusOf(id)).toBe('Waiting');
        const msgs = await outboxFor(id);
        expect(msgs).toHaveLength(before + 1);
        const msg = JSON.parse(msgs.at(-1)!.body);
        expect(msg['py/object']).toBe('pybit.models.BuildRequest');
        expect(msg.job.id).toBe(id);
        expect(msg.transport).toMatchObject({ method: 'git', uri: 'https://git.example/pkg', vcs_id: 'deadbeef' });
      }
      expect((await history(t, a!)).slice(-3)).toEqual(['Building', 'Failed', 'Waiting']);
      expect((await t.get(`/api/v1/jobs/${a}`)).json()).toMatchObject({ result: null, resultDetails: null });
      // Waiting, Building, Done: not retryable.
      const r1 = await t.req('POST', `/api/v1/jobs/${a}/retry`, { auth: true });
      expect(r1.status).toBe(409);
      expect(r1.json().error).toContain('Waiting');
      await setStatus(a!, 'Building', client);
      expect((await t.req('POST', `/api/v1/jobs/${a}/retry`, { auth: true })).status).toBe(409);
      await setStatus(a!, 'Done', client);
      const before = (await outboxFor(a!)).length;
      expect((await t.req('POST', `/api/v1/jobs/${a}/retry`, { auth: true })).status).toBe(409);
      expect(await outboxFor(a!)).toHaveLength(before);
      expect((await t.req('POST', '/api/v1/jobs/999999/retry', { auth: true })).status).toBe(404);
    });

    it('cancels in bulk by ids, reporting what it skipped', async () => {
      const [a, b, c] = await submit({ arch_list: 'any' });
      await setStatus(c!, 'Done');
      const r = await t.req('POST', '/api/v1/jobs/cancel', { auth: true, json: { ids: [a, b, c, 999999] } });
      expect(r.status, r.text).toBe(200);
      expect(r.json()).toEqual({
        cancelled: [a, b],
        cancelRequested: [],
        skipped: [
          { id: c, reason: 'already Done' },
          { id: 999999, reason: 'no such job' },
        ],
      });
      expect(await statusOf(a!)).toBe('Cancelled');
      for (const [json, field] of [
        [{}, 'ids'],
        [{ ids: [] }, 'ids'],
        [{ ids: ['x'] }, 'ids.0'],
        [{ all: true }, 'confirm'],
        [{ all: true, confirm: 'yes' }, 'confirm'],
        [{ ids: [a], all: true, confirm: 'cancel-all' }, 'all'],
        [{ ids: [a], extra: 1 }, 'extra'],
      ] as const) {
        const bad = await t.req('POST', '/api/v1/jobs/cancel', { auth: true, json });
        expect(bad.status, JSON.stringify(json)).toBe(400);
        expect(bad.json().error, JSON.stringify(json)).toContain(`'${field}'`);
      }
    });

    it('cancels every unfinished job with all + confirm', async () => {
      await submit({ arch_list: 'any' });
      const unfinished = (await truth(t)).filter((j) => ['Waiting', 'Blocked', 'Building', 'Failed'].includes(j.status));
      expect(unfinished.length).toBeGreaterThan(0);
      const r = await t.req('POST', '/api/v1/jobs/cancel', { auth: true, json: { all: true, confirm: 'cancel-all' } });
      expect(r.status, r.text).toBe(200);
      const out = r.json();
      expect([...out.cancelled, ...out.cancelRequested].sort((x: number, y: number) => x - y)).toEqual(ids(unfinished).sort((x, y) => x - y));
      const building = unfinished.filter((j) => j.status === 'Building' && j.client);
      expect(out.cancelRequested.sort()).toEqual(ids(building).sort());
      const after = await truth(t);
      expect(after.filter((j) => ['Waiting', 'Blocked', 'Failed'].includes(j.status))).toEqual([]);
    });
  });

  it('serves an OpenAPI document listing every route', async () => {
    const r = await t.get('/api/v1/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.json();
    expect(doc.openapi).toMatch(/^3\.1/);
    for (const route of Object.values(apiRoutes)) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
    }
    for (const p of ['/api/v1/jobs/{id}/claim', '/api/v1/jobs/{id}/heartbeat', '/api/v1/jobs/{id}/finish', '/api/v1/jobs/{id}/log', '/api/v1/jobs/{id}/artifacts', '/api/v1/workers/hello']) {
      expect(doc.paths[p]?.post, p).toBeDefined();
    }
    const more: Array<[string, string]> = [
      ['get', '/api/v1/me'], ['get', '/api/v1/users'], ['post', '/api/v1/users'], ['patch', '/api/v1/users/{name}'], ['delete', '/api/v1/users/{name}'],
      ['get', '/api/v1/tokens'], ['post', '/api/v1/tokens'], ['delete', '/api/v1/tokens/{id}'],
      ['get', '/api/v1/repositories'], ['post', '/api/v1/repositories'], ['post', '/api/v1/repositories/{name}/secret'], ['post', '/api/v1/hooks/github'],
      ['get', '/api/v1/builders'], ['patch', '/api/v1/builders/{name}'], ['get', '/api/v1/local-worker'], ['put', '/api/v1/local-worker'], ['get', '/api/v1/jobs/{id}/log'],
    ];
    for (const [method, path] of more) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
      // Documented routes exist (box adds the local worker's; a plain controller has none).
      if (!path.includes('local-worker')) expect(t.c.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }), `${method} ${path} served`).toBe(true);
    }
    expect(doc.paths['/api/v1/jobs/{id}/log'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['offset', 'length', 'tail']));
    const listParams = doc.paths['/api/v1/jobs'].get.parameters.map((p: { name: string }) => p.name);
    expect(listParams).toEqual(expect.arrayContaining(['status', 'package', 'version', 'arch', 'suite', 'dist', 'environment', 'client', 'q', 'limit', 'cursor', 'counts']));
    expect(doc.paths['/api/v1/jobs'].post.security).toBeDefined();
    expect(doc.paths['/api/v1/jobs'].post.requestBody.content['application/json'].schema.anyOf).toHaveLength(2);
    expect(doc.paths['/api/v1/jobs/{id}/claim'].post.requestBody.content['application/json'].schema.properties.worker).toBeDefined();
  });
});
