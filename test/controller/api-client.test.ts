// The typed REST client (src-shared/api-client.ts) against a live controller: every method, its
// errors, and the SSE helper.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, jobListQueryString, openEventStream, type ApiClient, type ReceivedEvent } from '../../src-shared/api-client';
import { hashToken, newToken } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import { sqliteTestDb, uniqueName } from '../helpers/db';
import { ADMIN_PASSWORD, ADMIN_USER, setupSuite, startTestController, waitFor, type TestController } from '../helpers/controller';

describe('api-client against a live controller', () => {
  let t: TestController;
  let api: ApiClient;
  let anon: ApiClient;
  let suite: string;
  let token: string;
  const submit = (pkg: string, version = '1.0-1', arch_list: string | string[] = 'any') =>
    api.submitJob({ package: pkg, version, arch_list, dist: 'Debian', suite, format: 'deb', method_type: 'git', uri: `https://git.example/${pkg}`, vcs_id: 'v1' });

  beforeAll(async () => {
    t = await startTestController(sqliteTestDb);
    suite = uniqueName('suite').toLowerCase();
    await setupSuite(t, suite, [
      { name: 'amd64', weight: 1 },
      { name: 'arm64', weight: 0 },
    ]);
    token = newToken();
    const admin = await t.kysely.selectFrom('users').select('id').where('name', '=', ADMIN_USER).executeTakeFirstOrThrow();
    await t.kysely.insertInto('tokens').values({ user_id: admin.id, name: 'cli', kind: 'user', token_hash: hashToken(token), created_at: nowText(), revoked_at: null }).execute();
    api = createApiClient({ baseUrl: `${t.url}/`, token });
    anon = createApiClient({ baseUrl: t.url });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serialises list parameters as repeated keys', () => {
    expect(jobListQueryString({ status: ['Waiting', 'Done'], package: 'a b', counts: true, limit: 5 })).toBe('?status=Waiting&status=Done&package=a+b&counts=1&limit=5');
    expect(jobListQueryString({})).toBe('');
  });

  it('submits, lists with filters, pages and reads a job', async () => {
    const a = await submit('alpha');
    expect(a.jobIds).toHaveLength(2);
    const b = await submit('beta', '2.0-1', ['arm64']);
    expect(b.jobIds).toHaveLength(1);
    const page = await api.listJobs({ package: 'alpha', counts: true });
    expect(page.items.map((j) => j.id)).toEqual([...a.jobIds].sort((x, y) => y - x));
    expect(page.total).toBe(2);
    expect(page.counts).toEqual({ Waiting: 2 });
    const armOnly = await anon.listJobs({ arch: 'arm64', status: ['Waiting'] });
    expect(armOnly.items.map((j) => `${j.package}/${j.arch}`).sort()).toEqual(['alpha/arm64', 'beta/arm64']);
    const walked: number[] = [];
    for await (const j of anon.iterateJobs({ limit: 1 })) walked.push(j.id);
    expect(walked).toEqual([...a.jobIds, ...b.jobIds].sort((x, y) => y - x));
    const job = await anon.getJob(b.jobIds[0]!);
    expect(job).toMatchObject({ package: 'beta', version: '2.0-1', arch: 'arm64', status: 'Waiting', transport: { method: 'git', vcsId: 'v1' } });
    expect(job.history.map((h) => h.status)).toEqual(['Waiting']);
  });

  it('reads stats, lookups, the OpenAPI document and metrics', async () => {
    const stats = await anon.stats();
    expect(stats.total).toBeGreaterThan(0);
    expect(stats.queues.map((q) => q.queue)).toContain(`Debian_amd64_${suite}_deb`);
    const l = await anon.lookups();
    expect(l.suiteArches.filter((s) => s.suite === suite).map((s) => s.arch)).toEqual(['amd64', 'arm64']);
    const doc = await anon.openapi();
    expect(Object.keys(doc.paths as object)).toContain('/api/v1/jobs');
    expect(await anon.metrics()).toContain('buildbox_submissions_total');
  });

  it('cancels, retries and bulk-cancels, with the controller’s errors as ApiError', async () => {
    const { jobIds } = await submit('gamma');
    const [x, y] = jobIds as [number, number];
    expect(await api.cancelJob(x)).toEqual({ id: x, status: 'Cancelled', cancelRequested: false });
    const again = await api.cancelJob(x).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ApiError);
    expect(again).toMatchObject({ statusCode: 409 });
    expect((again as ApiError).message).toContain('already Cancelled');
    expect(await api.retryJob(x)).toEqual({ id: x, status: 'Waiting' });
    expect(await api.cancelJobs({ ids: [x, y] })).toEqual({ cancelled: [x, y], cancelRequested: [], skipped: [] });
    const bad = await api.cancelJobs({ all: true }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ statusCode: 400 });
    expect((bad as ApiError).message).toContain("'confirm'");
    const noAuth = await anon.cancelJob(y).catch((e: unknown) => e);
    expect(noAuth).toMatchObject({ statusCode: 401 });
    const basic = createApiClient({ baseUrl: t.url, basic: { username: ADMIN_USER, password: ADMIN_PASSWORD } });
    expect((await basic.retryJob(y)).status).toBe('Waiting');
    const missing = await anon.getJob(987654).catch((e: unknown) => e);
    expect(missing).toMatchObject({ statusCode: 404 });
    const down = await createApiClient({ baseUrl: 'http://127.0.0.1:1' }).stats().catch((e: unknown) => e);
    expect(down).toMatchObject({ statusCode: 0 });
  });

  it('streams events, filtered by job, until closed', async () => {
    const got: ReceivedEvent[] = [];
    let opened = 0;
    const stream = api.events({ onEvent: (e) => got.push(e), onOpen: () => opened++ });
    await waitFor('stream open', () => opened === 1);
    const { jobIds } = await submit('delta');
    await waitFor('job.created events', () => got.filter((e) => e.event.type === 'job.created').length === jobIds.length);
    const one = jobIds[0]!;
    const filtered: ReceivedEvent[] = [];
    let filteredOpen = false;
    const only = openEventStream({ baseUrl: t.url, job: one, onEvent: (e) => filtered.push(e), onOpen: () => (filteredOpen = true) });
    await waitFor('filtered stream open', () => filteredOpen);
    await api.cancelJob(jobIds[1]!);
    await api.cancelJob(one);
    await waitFor('status events', () => got.filter((e) => e.event.type === 'job.status').length >= 2 && filtered.length >= 1);
    expect(filtered.map((e) => e.event)).toEqual([{ type: 'job.status', jobId: one, status: 'Cancelled', previous: 'Waiting', client: null }]);
    expect(got.every((e) => e.id !== null)).toBe(true);
    stream.close();
    only.close();
    await Promise.all([stream.done, only.done]);
    // A bad request is not retried: the stream stops and reports it.
    const errors: Error[] = [];
    const bad = openEventStream({ baseUrl: t.url, job: 0, onEvent: () => {}, onError: (e) => errors.push(e) });
    await bad.done;
    expect(errors[0]).toMatchObject({ statusCode: 400 });
  });
});
