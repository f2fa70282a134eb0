// pyBit job submission, queries, the client status protocol, cancel/retry/supersede/delete over
// real HTTP on the seed data of spec/pybit.md §2.3 (checklist §10.14–§10.40, database side; the
// RabbitMQ side is in pybit-amqp.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/db';
import { history, hookForm, startTestController, type Res, type TestController } from '../helpers/controller';

interface JobJson {
  'py/object': string;
  id: number;
  packageinstance: {
    id: number;
    package: { id: number; name: string; version: string };
    arch: { id: number; name: string };
    build_env: { id: number; name: string } | null;
    suite: { name: string };
    distribution: { name: string };
    format: { name: string };
    master: boolean;
  };
  buildclient: null | number | { 'py/object': string; id: number; name: string };
}

describe.each(DIALECTS)('pyBit jobs ($name)', ({ make }) => {
  let t: TestController;
  beforeEach(async () => {
    t = await startTestController(make, { sampleData: true });
  });
  afterEach(async () => {
    await t?.close();
  });

  const hook = (over: Record<string, string> = {}) => t.post('/job/vcshook', hookForm(over));
  const allJobs = async (): Promise<JobJson[]> => {
    const r = await t.get('/job');
    expect(r.status).toBe(200);
    return r.json<JobJson[]>();
  };
  const jobsAfter = async (known: number): Promise<JobJson[]> => (await allJobs()).filter((j) => j.id > known);
  const maxJobId = async () => Math.max(0, ...(await allJobs()).map((j) => j.id));
  const statusOf = async (id: number) => (await t.kysely.selectFrom('job').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
  const setStatus = async (id: number, status: string, client?: string) => {
    const r = await t.put(`/job/${id}`, client ? { status, client } : { status });
    expect(r.status, r.text).toBe(200);
  };
  const ok = (r: Res) => expect(r.status, r.text).toBe(200);
  const unfinished = async () => (await t.get('/job/status')).json<JobJson[]>().map((j) => j.id);

  // ---------------------------------------------------------------- submission
  it('§10.14 vcshook creates the package, an i386 master and an armel slave instance, and two Waiting jobs', async () => {
    const r = await hook();
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    const pkgs = await t.kysely.selectFrom('package').selectAll().execute();
    expect(pkgs.map((p) => [p.name, p.version])).toEqual([['hello', '1.0-1']]);
    const pis = (await t.get('/packageinstance')).json<JobJson['packageinstance'][]>();
    expect(pis.length).toBe(2);
    const byArch = Object.fromEntries(pis.map((p) => [p.arch.name, p]));
    expect(byArch.i386!.master).toBe(true);
    expect(byArch.armel!.master).toBe(false);
    for (const p of pis) {
      expect(p.suite.name).toBe('development');
      expect(p.distribution.name).toBe('Debian');
      expect(p.format.name).toBe('deb');
      expect(p.build_env).toBeNull();
    }
    const jobs = await allJobs();
    expect(jobs.length).toBe(2);
    expect(jobs.map((j) => j.packageinstance.arch.name).sort()).toEqual(['armel', 'i386']);
    for (const j of jobs) {
      expect(await history(t, j.id)).toEqual(['Waiting']);
      expect(j.buildclient).toBeNull();
    }
    // the transport is logged per job for retries
    const br = await t.kysely.selectFrom('buildrequest').selectAll().orderBy('job').execute();
    expect(br.map((b) => [b.job, b.method, b.uri, b.vcs_id])).toEqual(jobs.map((j) => [j.id, 'svn', 'http://svn/hello', '42']));
  });

  it('§10.14 PUT /job/vcshook ≡ POST, multipart bodies are read like forms, and auth is required', async () => {
    ok(await t.put('/job/vcshook', hookForm()));
    ok(await t.req('POST', '/job/vcshook', { multipart: hookForm({ package_version: '1.0-2' }), auth: true }));
    const unauth = await t.post('/job/vcshook', hookForm({ package_version: '1.0-3' }), false);
    expect(unauth.status).toBe(401);
    expect((await allJobs()).length).toBe(4);
  });

  it('§10.16 architecture_list=all creates one job, on the highest-weight arch (i386), marked master', async () => {
    ok(await hook({ architecture_list: 'all' }));
    const jobs = await allJobs();
    expect(jobs.length).toBe(1);
    expect(jobs[0]!.packageinstance.arch.name).toBe('i386');
    expect(jobs[0]!.packageinstance.master).toBe(true);
  });

  it('§10.16 master_weight decides the "all" arch: raising armel above i386 moves it', async () => {
    const dev = await t.idOf('suite', 'development');
    const armel = await t.idOf('arch', 'armel');
    await t.kysely.updateTable('suitearches').set({ master_weight: 7 }).where('suite_id', '=', dev).where('arch_id', '=', armel).execute();
    ok(await hook({ architecture_list: 'all' }));
    const jobs = await allJobs();
    expect(jobs.map((j) => [j.packageinstance.arch.name, j.packageinstance.master])).toEqual([['armel', true]]);
  });

  it('§10.17 architecture_list=armel creates one armel job, master when the instance is new', async () => {
    ok(await hook({ architecture_list: 'armel' }));
    const jobs = await allJobs();
    expect(jobs.map((j) => [j.packageinstance.arch.name, j.packageinstance.master])).toEqual([['armel', true]]);
  });

  it('§10.17 an armel instance that already exists as a slave stays a slave (#84)', async () => {
    ok(await hook({ architecture_list: 'any' }));
    const before = await maxJobId();
    ok(await hook({ architecture_list: 'armel' }));
    const jobs = await jobsAfter(before);
    expect(jobs.map((j) => [j.packageinstance.arch.name, j.packageinstance.master])).toEqual([['armel', false]]);
    expect(await t.count('packageinstance')).toBe(2);
  });

  it('§10.18 all,any behaves like any; explicit lists in any separator select both arches', async () => {
    for (const [list, version] of [
      ['all,any', '1.0-1'],
      ['armel,i386', '1.0-2'],
      ['i386 armel', '1.0-3'],
      ['i386, armel', '1.0-4'],
      ['i386armel', '1.0-5'],
      ['any all', '1.0-6'],
      ['linux-any', '1.0-7'],
    ] as const) {
      const before = await maxJobId();
      ok(await hook({ architecture_list: list, package_version: version }));
      const jobs = await jobsAfter(before);
      expect(jobs.map((j) => j.packageinstance.arch.name).sort(), list).toEqual(['armel', 'i386']);
      expect(jobs.find((j) => j.packageinstance.arch.name === 'i386')!.packageinstance.master, list).toBe(true);
      expect(jobs.find((j) => j.packageinstance.arch.name === 'armel')!.packageinstance.master, list).toBe(false);
    }
  });

  it('§10.18 any-i386 selects i386 only; an arch named arm never matches armel', async () => {
    ok(await hook({ architecture_list: 'any-i386' }));
    expect((await allJobs()).map((j) => j.packageinstance.arch.name)).toEqual(['i386']);

    ok(await t.put('/arch', { name: 'arm' }));
    ok(await t.put('/suitearch', { suite_id: await t.idOf('suite', 'development'), arch_id: await t.idOf('arch', 'arm'), master_weight: 0 }));
    let before = await maxJobId();
    ok(await hook({ architecture_list: 'armel', package_version: '1.0-2' }));
    expect((await jobsAfter(before)).map((j) => j.packageinstance.arch.name)).toEqual(['armel']);
    before = await maxJobId();
    ok(await hook({ architecture_list: 'arm', package_version: '1.0-3' }));
    expect((await jobsAfter(before)).map((j) => j.packageinstance.arch.name)).toEqual(['arm']);
    before = await maxJobId();
    ok(await hook({ architecture_list: 'armarmel', package_version: '1.0-4' }));
    expect((await jobsAfter(before)).map((j) => j.packageinstance.arch.name).sort()).toEqual(['arm', 'armel']);
    before = await maxJobId();
    ok(await hook({ architecture_list: 'any', package_version: '1.0-5' }));
    expect((await jobsAfter(before)).map((j) => j.packageinstance.arch.name).sort()).toEqual(['arm', 'armel', 'i386']);
  });

  it('§10.19 a suite without suitearch rows, or a list that matches nothing, creates no job (4xx, not 500)', async () => {
    ok(await t.put('/suite', { name: 'empty' }));
    const before = await t.counts();
    for (const form of [
      hookForm({ suite: 'empty' }),
      hookForm({ architecture_list: 'amd64' }),
      hookForm({ architecture_list: 'kfreebsd-any' }),
      hookForm({ architecture_list: '' }),
      hookForm({ architecture_list: ' , ' }),
    ]) {
      const r = await t.post('/job/vcshook', form);
      expect(r.status, `${form.suite}/${form.architecture_list}: ${r.text}`).toBe(400);
      expect(r.text.length).toBeGreaterThan(10);
    }
    // a known arch that this suite does not build
    ok(await t.put('/arch', { name: 'amd64' }));
    const before2 = await t.counts();
    const r = await hook({ architecture_list: 'amd64' });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/amd64/);
    expect(await t.counts()).toEqual(before2);
    expect(before2.job).toBe(before.job);
    expect(before2.package).toBe(0);
  });

  it('§10.20 an unknown suite, distribution or format creates nothing and says which', async () => {
    const before = await t.counts();
    for (const [key, value] of [
      ['suite', 'nosuchsuite'],
      ['distribution', 'Ubuntu'],
      ['format', 'rpm'],
    ] as const) {
      const r = await hook({ [key]: value });
      expect(r.status, key).toBe(400);
      expect(r.text).toContain(value);
    }
    expect(await t.counts()).toEqual(before);
  });

  it('§10.21 resubmitting reuses the instances, keeps their master flags, and creates new jobs', async () => {
    ok(await hook());
    const pis = (await t.get('/packageinstance')).json<JobJson['packageinstance'][]>();
    // flip the flags by hand: a resubmission must not flip them back (#84)
    const armel = pis.find((p) => p.arch.name === 'armel')!;
    const i386 = pis.find((p) => p.arch.name === 'i386')!;
    expect((await t.get(`/packageinstance/${armel.id}/togglemaster/1`, { auth: true })).status).toBe(202);
    expect((await t.get(`/packageinstance/${i386.id}/togglemaster/0`, { auth: true })).status).toBe(202);
    const before = await maxJobId();
    ok(await hook());
    ok(await hook());
    expect(await t.count('packageinstance')).toBe(2);
    expect(await t.count('package')).toBe(1);
    const fresh = await jobsAfter(before);
    expect(fresh.length).toBe(4);
    expect(new Set(fresh.map((j) => j.packageinstance.id))).toEqual(new Set([armel.id, i386.id]));
    for (const j of fresh) expect(j.packageinstance.master).toBe(j.packageinstance.arch.name === 'armel');
    expect(await t.count('job')).toBe(6);
  });

  it('§10.22 a suite-arch mapped to envs squeeze and wheezy gives one job per (env, arch), each env with its own master', async () => {
    const dev = await t.idOf('suite', 'development');
    const sa = async (arch: string) =>
      (await t.kysely.selectFrom('suitearches').select('id').where('suite_id', '=', dev).where('arch_id', '=', await t.idOf('arch', arch)).executeTakeFirstOrThrow()).id;
    const squeeze = await t.idOf('buildenv', 'squeeze');
    const wheezy = await t.idOf('buildenv', 'wheezy');
    for (const env of [squeeze, wheezy]) for (const arch of ['i386', 'armel']) ok(await t.put('/buildenv_suitearch', { buildenv_id: env, suitearch_id: await sa(arch) }));
    ok(await hook());
    const jobs = await allJobs();
    const seen = jobs.map((j) => [j.packageinstance.build_env?.name, j.packageinstance.arch.name, j.packageinstance.master]);
    expect(seen).toEqual([
      ['squeeze', 'i386', true],
      ['squeeze', 'armel', false],
      ['wheezy', 'i386', true],
      ['wheezy', 'armel', false],
    ]);
    for (const j of jobs) expect(j.packageinstance.build_env).toEqual({ 'py/object': 'pybit.models.BuildEnv', id: j.packageinstance.build_env!.id, name: j.packageinstance.build_env!.name });
    // the transport log records the environment
    const br = await t.kysely.selectFrom('buildrequest').select(['job', 'buildenv_name']).orderBy('job').execute();
    expect(br.map((b) => b.buildenv_name)).toEqual(['squeeze', 'squeeze', 'wheezy', 'wheezy']);
    // "all" takes the master arch of each env
    const before = await maxJobId();
    ok(await hook({ architecture_list: 'all', package_version: '1.0-2' }));
    expect((await jobsAfter(before)).map((j) => [j.packageinstance.build_env?.name, j.packageinstance.arch.name, j.packageinstance.master])).toEqual([
      ['squeeze', 'i386', true],
      ['wheezy', 'i386', true],
    ]);
  });

  it('§10.22 the spec example: i386 in squeeze+wheezy, armel in wheezy only → squeeze/i386 M, wheezy/i386 M, wheezy/armel S', async () => {
    const dev = await t.idOf('suite', 'development');
    const sa = async (arch: string) =>
      (await t.kysely.selectFrom('suitearches').select('id').where('suite_id', '=', dev).where('arch_id', '=', await t.idOf('arch', arch)).executeTakeFirstOrThrow()).id;
    ok(await t.put('/buildenv_suitearch', { buildenv_id: await t.idOf('buildenv', 'squeeze'), suitearch_id: await sa('i386') }));
    ok(await t.put('/buildenv_suitearch', { buildenv_id: await t.idOf('buildenv', 'wheezy'), suitearch_id: await sa('i386') }));
    ok(await t.put('/buildenv_suitearch', { buildenv_id: await t.idOf('buildenv', 'wheezy'), suitearch_id: await sa('armel') }));
    ok(await hook());
    expect((await allJobs()).map((j) => [j.packageinstance.build_env?.name, j.packageinstance.arch.name, j.packageinstance.master])).toEqual([
      ['squeeze', 'i386', true],
      ['wheezy', 'i386', true],
      ['wheezy', 'armel', false],
    ]);
  });

  it('§10.23 a blacklisted name or uri is refused with 403 and creates nothing; every rule is checked (intent)', async () => {
    ok(await t.put('/blacklist', { field: 'name', regex: '^never-matches$' }));
    ok(await t.put('/blacklist', { field: 'name', regex: '(.*-dev)' }));
    ok(await t.put('/blacklist', { field: 'vcs_uri', regex: '^$never' }));
    ok(await t.put('/blacklist', { field: 'vcs_uri', regex: '(.*/users/*)' }));
    const before = await t.counts();
    const r1 = await hook({ package: 'foo-dev' });
    expect(r1.status).toBe(403);
    expect(r1.text).toMatch(/blacklist/);
    const r2 = await hook({ uri: 'http://svn/users/joe/hello' });
    expect(r2.status).toBe(403);
    expect(await t.counts()).toEqual(before);
    // not matching → accepted
    ok(await hook({ package: 'foo' }));
    // an apt request with an empty uri is not matched by a vcs_uri rule (pyBit crashed here)
    ok(await hook({ package: 'bar', method: 'apt', uri: '', vcs_id: '' }));
    expect(await t.count('job')).toBe(4);
  });

  it('§10.24 vcshook with no fields at all is 400; with some fields missing it is 400 naming the field', async () => {
    const r = await t.post('/job/vcshook', {});
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/Required fields missing/);
    for (const key of ['package', 'package_version', 'suite', 'distribution', 'format', 'architecture_list', 'method', 'uri']) {
      const form = hookForm();
      delete form[key];
      const res = await t.post('/job/vcshook', form);
      expect(res.status, key).toBe(400);
      expect(res.text, key).toContain(key);
    }
    expect(await t.count('job')).toBe(0);
    expect(await t.count('package')).toBe(0);
  });

  it('§10.25 POST /job creates one job for an existing instance and logs one build message; without uri it is 400', async () => {
    ok(await hook({ architecture_list: 'any' }));
    const pi = (await t.get('/packageinstance')).json<JobJson['packageinstance'][]>().find((p) => p.arch.name === 'armel')!;
    const outboxBefore = await t.count('outbox');
    const before = await maxJobId();
    const r = await t.post('/job', { packageinstance_id: pi.id, method: 'git', uri: 'https://git/hello.git', vcs_id: 'v1.0' });
    expect(r.status, r.text).toBe(200);
    expect(r.text).toBe('');
    const fresh = await jobsAfter(before);
    expect(fresh.map((j) => j.packageinstance.id)).toEqual([pi.id]);
    expect(await t.count('outbox')).toBe(outboxBefore + 1);
    const br = await t.kysely.selectFrom('buildrequest').selectAll().where('job', '=', fresh[0]!.id).executeTakeFirstOrThrow();
    expect([br.method, br.uri, br.vcs_id]).toEqual(['git', 'https://git/hello.git', 'v1.0']);
    // PUT is the same; vcs_id is optional
    ok(await t.put('/job', { packageinstance_id: pi.id, method: 'git', uri: 'https://git/hello.git' }));
    const n = await t.count('job');
    const missing = await t.post('/job', { packageinstance_id: pi.id, method: 'git' });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('uri');
    expect((await t.post('/job', { method: 'git', uri: 'x' })).status).toBe(400);
    expect((await t.post('/job', { packageinstance_id: 99999, method: 'git', uri: 'x' })).status).toBe(404);
    expect((await t.post('/job', { packageinstance_id: pi.id, method: 'git', uri: 'x' }, false)).status).toBe(401);
    expect(await t.count('job')).toBe(n);
  });

  it('§10.25 POST /job builds exactly the named instance: a hand-made one outside the suite map, or one of two duplicates', async () => {
    ok(await t.put('/package', { name: 'hello', version: '1.0-1' }));
    ok(await t.put('/arch', { name: 'amd64' }));
    const base = {
      package: 'hello',
      version: '1.0-1',
      suite_id: await t.idOf('suite', 'development'),
      dist_id: await t.idOf('distribution', 'Debian'),
      format_id: await t.idOf('format', 'deb'),
      build_env_id: '',
    };
    // amd64 is not mapped to the suite; pyBit's PUT /packageinstance allows it anyway
    ok(await t.put('/packageinstance', { ...base, arch_id: await t.idOf('arch', 'amd64') }));
    // two instances of the same combination (PUT /packageinstance has no duplicate check)
    ok(await t.put('/packageinstance', { ...base, arch_id: await t.idOf('arch', 'i386') }));
    ok(await t.put('/packageinstance', { ...base, arch_id: await t.idOf('arch', 'i386'), slave: 'on' }));
    const [amd64, first, second] = (await t.get('/packageinstance')).json<JobJson['packageinstance'][]>();
    for (const pi of [amd64!, second!, first!]) {
      const before = await maxJobId();
      ok(await t.post('/job', { packageinstance_id: pi.id, method: 'svn', uri: 'http://svn/hello', vcs_id: '1' }));
      const fresh = await jobsAfter(before);
      expect(fresh.map((j) => j.packageinstance.id), `instance ${pi.id}`).toEqual([pi.id]);
      expect(fresh[0]!.packageinstance.master).toBe(pi.master);
    }
    expect(await t.count('packageinstance')).toBe(3);
    // the message names the same instance
    const last = JSON.parse((await t.kysely.selectFrom('outbox').select('body').orderBy('id', 'desc').executeTakeFirstOrThrow()).body);
    expect(last.job.packageinstance.id).toBe(first!.id);
    // retrying the job of the second duplicate stays on the second duplicate
    const secondJob = (await allJobs()).find((j) => j.packageinstance.id === second!.id)!;
    const before = await maxJobId();
    ok(await t.get(`/job/${secondJob.id}/retry`, { auth: true }));
    expect((await jobsAfter(before)).map((j) => j.packageinstance.id)).toEqual([second!.id]);
  });

  it('§10.21 concurrent resubmissions share one set of instances and leave one unfinished job per arch', async () => {
    const N = 8;
    const rs = await Promise.all(Array.from({ length: N }, () => hook()));
    for (const r of rs) expect(r.status, r.text).toBe(200);
    expect(await t.count('package')).toBe(1);
    expect(await t.count('packageinstance')).toBe(2);
    expect(await t.count('job')).toBe(2 * N);
    const open = (await t.get('/job/status')).json<JobJson[]>();
    expect(open.map((j) => j.packageinstance.arch.name).sort()).toEqual(['armel', 'i386']);
    const masters = (await t.get('/packageinstance')).json<JobJson['packageinstance'][]>().map((p) => [p.arch.name, p.master]);
    expect(masters.sort()).toEqual([
      ['armel', false],
      ['i386', true],
    ]);
  });

  it('§10.38 concurrent submissions of different versions: no unfinished job has a later job of a newer-or-equal version', async () => {
    const versions = ['1.0-1', '1.0-3', '1.0-2', '0.9-1', '1.0-3', '1.1~rc1-1'];
    const rs = await Promise.all(versions.map((v) => hook({ package_version: v, architecture_list: 'i386' })));
    for (const r of rs) expect(r.status, r.text).toBe(200);
    const jobs = await allJobs();
    expect(jobs.length).toBe(versions.length);
    expect(await t.count('packageinstance')).toBe(new Set(versions).size);
    const { compareVersions } = await import('@shared/version-compare');
    const open = new Set((await t.get('/job/status')).json<JobJson[]>().map((j) => j.id));
    expect(open.has(jobs.find((j) => j.packageinstance.package.version === '1.1~rc1-1')!.id)).toBe(true);
    for (const j of jobs) {
      const newer = jobs.filter((k) => k.id > j.id && compareVersions(k.packageinstance.package.version, j.packageinstance.package.version) >= 0);
      // superseded exactly when a later submission has a newer or equal version
      expect(open.has(j.id), `job ${j.id} ${j.packageinstance.package.version}`).toBe(newer.length === 0);
    }
  });

  // ---------------------------------------------------------------- queries
  it('§10.26 GET /job lists Job objects ordered by id; /job/page/N holds at most 10', async () => {
    for (let i = 1; i <= 6; i++) ok(await hook({ package_version: `1.0-${i}` }));
    const jobs = await allJobs();
    expect(jobs.length).toBe(12);
    expect(jobs.map((j) => j.id)).toEqual([...jobs.map((j) => j.id)].sort((a, b) => a - b));
    for (const j of jobs) {
      expect(Object.keys(j)).toEqual(['py/object', 'id', 'packageinstance', 'buildclient']);
      expect(j['py/object']).toBe('pybit.models.Job');
      expect(j.packageinstance['py/object' as never]).toBe('pybit.models.PackageInstance');
      expect(Object.keys(j.packageinstance)).toEqual(['py/object', 'id', 'package', 'arch', 'build_env', 'suite', 'distribution', 'format', 'master']);
      expect(j.buildclient).toBeNull();
    }
    const p1 = await t.get('/job/page/1');
    expect(p1.headers.get('content-type')).toBe('application/json');
    expect(p1.json<JobJson[]>().map((j) => j.id)).toEqual(jobs.slice(0, 10).map((j) => j.id));
    expect((await t.get('/job/page/2')).json<JobJson[]>().map((j) => j.id)).toEqual(jobs.slice(10).map((j) => j.id));
    expect((await t.get('/job/page/3')).json()).toEqual([]);
    // a client on a job shows as {id, name}
    await setStatus(jobs[0]!.id, 'Building', 'build_client_7');
    const j0 = (await t.get(`/job/${jobs[0]!.id}`)).json<JobJson>();
    expect(j0.buildclient).toEqual({ 'py/object': 'pybit.models.BuildD', id: await t.idOf('buildclients', 'build_client_7'), name: 'build_client_7' });
  });

  it('§10.27 GET /job/<id> returns one Job; /job/<id>/status the history in time order; unknown ids are 404', async () => {
    ok(await hook({ architecture_list: 'all' }));
    const [job] = await allJobs();
    const one = await t.get(`/job/${job!.id}`);
    expect(one.status).toBe(200);
    expect(one.headers.get('content-type')).toBe('application/json');
    expect(one.json()).toEqual(job);
    await setStatus(job!.id, 'Building', 'build_client_7');
    await setStatus(job!.id, 'Blocked');
    await setStatus(job!.id, 'Building', 'build_client_7');
    await setStatus(job!.id, 'Done');
    const h = await t.get(`/job/${job!.id}/status`);
    expect(h.status).toBe(200);
    expect(h.headers.get('content-type')).toBe('application/json');
    const rows = h.json<Array<Record<string, unknown>>>();
    expect(rows.map((r) => r.status)).toEqual(['Waiting', 'Building', 'Blocked', 'Building', 'Done']);
    for (const r of rows) {
      expect(Object.keys(r)).toEqual(['py/object', 'job_id', 'status', 'buildclient', 'time']);
      expect(r['py/object']).toBe('pybit.models.JobHistory');
      expect(r.job_id).toBe(job!.id);
      expect(r.buildclient).toBe('build_client_7');
      expect(String(r.time)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    }
    const times = rows.map((r) => String(r.time));
    expect(times).toEqual([...times].sort());
    const missing = await t.get(`/job/${job!.id + 100}/status`);
    expect(missing.status).toBe(404);
    expect(missing.text).toMatch(/No job found/);
    expect((await t.get(`/job/${job!.id + 100}`)).status).toBe(404);
  });

  it('§10.28 GET /job/status lists only jobs whose latest status is Waiting, Blocked, Building or Failed', async () => {
    for (let i = 1; i <= 4; i++) ok(await hook({ package: `p${i}`, architecture_list: 'any' }));
    const jobs = (await allJobs()).map((j) => j.id);
    expect(jobs.length).toBe(8);
    const plan = ['Waiting', 'Blocked', 'Building', 'Failed', 'Done', 'Uploaded', 'Cancelled', 'Waiting'];
    for (let i = 0; i < 8; i++) {
      if (plan[i] !== 'Waiting') await setStatus(jobs[i]!, 'Building', 'build_client_1');
      if (plan[i] !== 'Building' && plan[i] !== 'Waiting') await setStatus(jobs[i]!, plan[i]!);
    }
    // a job that went Done → Waiting again counts by its latest status
    await setStatus(jobs[7]!, 'Done');
    await setStatus(jobs[7]!, 'Waiting');
    const r = await t.get('/job/status');
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json<JobJson[]>().map((j) => j.id)).toEqual([jobs[0], jobs[1], jobs[2], jobs[3], jobs[7]]);
  });

  it('§10.29 GET /job/status/<name> lists only jobs whose latest status is that name; unknown names give []', async () => {
    ok(await hook());
    ok(await hook({ package: 'other' }));
    const jobs = (await allJobs()).map((j) => j.id);
    await setStatus(jobs[0]!, 'Building', 'c1');
    await setStatus(jobs[1]!, 'Building', 'c1');
    await setStatus(jobs[1]!, 'Failed');
    const ids = async (s: string) => (await t.get(`/job/status/${s}`)).json<JobJson[]>().map((j) => j.id);
    expect(await ids('Waiting')).toEqual([jobs[2], jobs[3]]);
    expect(await ids('Building')).toEqual([jobs[0]]);
    expect(await ids('Failed')).toEqual([jobs[1]]);
    expect(await ids('waiting')).toEqual([]); // case-sensitive
    expect(await ids('NoSuchStatus')).toEqual([]);
    const r = await t.get('/job/status/NoSuchStatus');
    expect(r.status).toBe(200);
    expect(r.text).toBe('[]');
  });

  // ---------------------------------------------------------------- client protocol
  it('§10.30 PUT /job/<id> status=Building&client=… appends Building, creates the client and assigns it', async () => {
    ok(await hook({ architecture_list: 'all' }));
    const [job] = await allJobs();
    expect(await t.count('buildclients')).toBe(3); // sample data
    const r = await t.put(`/job/${job!.id}`, { status: 'Building', client: 'build_client_7' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect(await history(t, job!.id)).toEqual(['Waiting', 'Building']);
    expect(await t.count('buildclients')).toBe(4);
    const bc = await t.idOf('buildclients', 'build_client_7');
    expect((await t.get(`/job/${job!.id}`)).json<JobJson>().buildclient).toEqual({ 'py/object': 'pybit.models.BuildD', id: bc, name: 'build_client_7' });
    // POST is the same; an existing client is reused
    ok(await t.post(`/job/${job!.id}`, { status: 'Building', client: 'build_client_7' }));
    expect(await t.count('buildclients')).toBe(4);
    // a status without client keeps the assignment
    await setStatus(job!.id, 'Done');
    expect((await t.get(`/job/${job!.id}`)).json<JobJson>().buildclient).toMatchObject({ id: bc });
    expect(await history(t, job!.id)).toEqual(['Waiting', 'Building', 'Building', 'Done']);
  });

  it('§10.31 PUT /job/<id> without status is 400; unknown job is 404 (intent); unknown status is 400', async () => {
    ok(await hook({ architecture_list: 'all' }));
    const [job] = await allJobs();
    const before = await t.counts();
    const r = await t.put(`/job/${job!.id}`, { client: 'build_client_7' });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/status/);
    expect((await t.put(`/job/${job!.id}`, { status: '' })).status).toBe(400);
    const unknown = await t.put(`/job/${job!.id + 999}`, { status: 'Building', client: 'build_client_9' });
    expect(unknown.status).toBe(404);
    const badStatus = await t.put(`/job/${job!.id}`, { status: 'Exploded', client: 'build_client_9' });
    expect(badStatus.status).toBe(400);
    expect(badStatus.text).toContain('Exploded');
    expect((await t.put(`/job/${job!.id}`, { status: 'Done' }, false)).status).toBe(401);
    // nothing half-written: no client row for the refused requests
    expect(await t.counts()).toEqual(before);
  });

  it('§10.32 GET /buildd lists the client; /buildd/<id>/jobs lists its jobs with the client as an integer', async () => {
    ok(await hook());
    const [a, b] = await allJobs();
    await setStatus(a!.id, 'Building', 'build_client_7');
    const list = (await t.get('/buildd')).json<Array<{ 'py/object': string; id: number; name: string }>>();
    const bc = list.find((c) => c.name === 'build_client_7');
    expect(bc).toBeDefined();
    expect(bc!['py/object']).toBe('pybit.models.BuildD');
    const r = await t.get(`/buildd/${bc!.id}/jobs`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    const jobs = r.json<JobJson[]>();
    expect(jobs.map((j) => j.id)).toEqual([a!.id]);
    expect(jobs[0]!.buildclient).toBe(bc!.id);
    await setStatus(b!.id, 'Building', 'build_client_7');
    expect((await t.get(`/buildd/${bc!.id}/jobs`)).json<JobJson[]>().map((j) => j.id)).toEqual([a!.id, b!.id]);
    // a client with no jobs, and an unknown one
    const idle = list.find((c) => c.name === 'build_client_arm02')!;
    expect((await t.get(`/buildd/${idle.id}/jobs`)).status).toBe(404);
    expect((await t.get(`/buildd/99999/jobs`)).status).toBe(404);
  });

  it('§10.33 Done, Uploaded and Cancelled finish a job (gone from /job/status); Failed does not', async () => {
    ok(await hook());
    ok(await hook({ package: 'two' }));
    const ids = (await allJobs()).map((j) => j.id);
    expect(await unfinished()).toEqual(ids);
    await setStatus(ids[0]!, 'Done');
    await setStatus(ids[1]!, 'Uploaded');
    await setStatus(ids[2]!, 'Cancelled');
    await setStatus(ids[3]!, 'Failed');
    expect(await unfinished()).toEqual([ids[3]]);
  });

  // ---------------------------------------------------------------- cancel
  it('§10.34 cancelling a Waiting job: 202, Cancelled appended, no message; finished jobs → 409 (intent); unknown → 404', async () => {
    ok(await hook({ architecture_list: 'all' }));
    const [job] = await allJobs();
    const outbox = await t.count('outbox');
    expect((await t.get(`/job/${job!.id}/cancel`)).status).toBe(401);
    const r = await t.get(`/job/${job!.id}/cancel`, { auth: true });
    expect(r.status).toBe(202);
    expect(await history(t, job!.id)).toEqual(['Waiting', 'Cancelled']);
    expect(await t.count('outbox')).toBe(outbox);
    const again = await t.get(`/job/${job!.id}/cancel`, { auth: true });
    expect(again.status).toBe(409);
    expect(again.text).toMatch(/Cancelled/);
    expect(await history(t, job!.id)).toEqual(['Waiting', 'Cancelled']);
    // Done is finished too
    ok(await hook({ architecture_list: 'all', package: 'other' }));
    const other = (await allJobs()).find((j) => j.packageinstance.package.name === 'other')!;
    await setStatus(other.id, 'Done');
    expect((await t.get(`/job/${other.id}/cancel`, { auth: true })).status).toBe(409);
    expect(await history(t, other.id)).toEqual(['Waiting', 'Done']);
    // Blocked and Failed are unfinished: cancelled straight away
    ok(await hook({ architecture_list: 'any', package: 'third' }));
    const [x, y] = (await allJobs()).filter((j) => j.packageinstance.package.name === 'third');
    await setStatus(x!.id, 'Blocked');
    await setStatus(y!.id, 'Failed');
    expect((await t.get(`/job/${x!.id}/cancel`, { auth: true })).status).toBe(202);
    expect((await t.get(`/job/${y!.id}/cancel`, { auth: true })).status).toBe(202);
    expect(await statusOf(x!.id)).toBe('Cancelled');
    expect(await statusOf(y!.id)).toBe('Cancelled');
    expect((await t.get('/job/999999/cancel', { auth: true })).status).toBe(404);
  });

  it('§10.35 cancelling a Building job queues a CancelRequest for its client and leaves the status alone', async () => {
    ok(await hook({ architecture_list: 'all' }));
    const [job] = await allJobs();
    await setStatus(job!.id, 'Building', 'build_client_7');
    const outbox = await t.count('outbox');
    const r = await t.get(`/job/${job!.id}/cancel`, { auth: true });
    expect(r.status).toBe(202);
    expect(await history(t, job!.id)).toEqual(['Waiting', 'Building']);
    const rows = await t.kysely.selectFrom('outbox').selectAll().orderBy('id').execute();
    expect(rows.length).toBe(outbox + 1);
    const msg = rows[rows.length - 1]!;
    expect([msg.exchange, msg.routing_key, msg.queue, msg.job_id]).toEqual(['pybit', 'build_client_7', null, job!.id]);
    const body = JSON.parse(msg.body);
    expect(Object.keys(body)).toEqual(['py/object', 'job', 'web_host']);
    expect(body['py/object']).toBe('pybit.models.CancelRequest');
    expect(body.job.id).toBe(job!.id);
  });

  it('§10.36 /job/cancelall and DELETE /job cancel every unfinished job; Building ones get CancelRequests', async () => {
    for (const p of ['a1', 'a2', 'a3']) ok(await hook({ package: p }));
    const ids = (await allJobs()).map((j) => j.id);
    // Waiting, Blocked, Failed, Building, Done, Building(on another client)
    await setStatus(ids[1]!, 'Blocked');
    await setStatus(ids[2]!, 'Failed');
    await setStatus(ids[3]!, 'Building', 'build_client_7');
    await setStatus(ids[4]!, 'Done');
    await setStatus(ids[5]!, 'Building', 'build_client_8');
    const outbox = await t.count('outbox');
    expect((await t.get('/job/cancelall')).status).toBe(401);
    const r = await t.get('/job/cancelall', { auth: true });
    expect(r.status).toBe(202);
    expect(await Promise.all(ids.map(statusOf))).toEqual(['Cancelled', 'Cancelled', 'Cancelled', 'Building', 'Done', 'Building']);
    const sent = await t.kysely.selectFrom('outbox').select(['routing_key', 'job_id']).where('id', '>', 0).orderBy('id').execute();
    expect(sent.slice(outbox)).toEqual([
      { routing_key: 'build_client_7', job_id: ids[3] },
      { routing_key: 'build_client_8', job_id: ids[5] },
    ]);
    // DELETE /job is the same
    ok(await hook({ package: 'b1' }));
    const fresh = (await allJobs()).filter((j) => j.packageinstance.package.name === 'b1').map((j) => j.id);
    expect((await t.req('DELETE', '/job')).status).toBe(401);
    const d = await t.req('DELETE', '/job', { auth: true });
    expect(d.status).toBe(202);
    expect(await Promise.all(fresh.map(statusOf))).toEqual(['Cancelled', 'Cancelled']);
    expect(await history(t, ids[4]!)).toEqual(['Waiting', 'Done']);
  });

  it('§10.37 GET /package/<id>/cancel cancels only the unfinished jobs of that name and version', async () => {
    ok(await hook({ package: 'hello', package_version: '1.0-1' }));
    ok(await hook({ package: 'hello', package_version: '1.0-1', suite: 'chickpea' }));
    ok(await hook({ package: 'hello', package_version: '2.0-1', suite: 'illgill' }));
    ok(await hook({ package: 'world', package_version: '1.0-1' }));
    const jobs = await allJobs();
    const target = jobs.filter((j) => j.packageinstance.package.name === 'hello' && j.packageinstance.package.version === '1.0-1');
    expect(target.length).toBe(4);
    await setStatus(target[0]!.id, 'Done');
    await setStatus(target[1]!.id, 'Building', 'build_client_7');
    const pkgId = target[0]!.packageinstance.package.id;
    expect((await t.get(`/package/${pkgId}/cancel`)).status).toBe(401);
    const r = await t.get(`/package/${pkgId}/cancel`, { auth: true });
    expect(r.status).toBe(202);
    for (const j of jobs) {
      const s = await statusOf(j.id);
      if (j.id === target[0]!.id) expect(s).toBe('Done');
      else if (j.id === target[1]!.id) expect(s).toBe('Building');
      else if (target.some((x) => x.id === j.id)) expect(s).toBe('Cancelled');
      else expect(s, `${j.packageinstance.package.name} ${j.packageinstance.package.version}`).toBe('Waiting');
    }
    const cancelReqs = await t.kysely.selectFrom('outbox').select(['routing_key', 'job_id']).where('routing_key', '=', 'build_client_7').execute();
    expect(cancelReqs).toEqual([{ routing_key: 'build_client_7', job_id: target[1]!.id }]);
    expect((await t.get('/package/99999/cancel', { auth: true })).status).toBe(404);
  });

  it('§10.34 concurrent cancels of one job: one 202, the rest 409, a single Cancelled row', async () => {
    ok(await hook({ architecture_list: 'all' }));
    const [job] = await allJobs();
    const rs = await Promise.all(Array.from({ length: 6 }, () => t.get(`/job/${job!.id}/cancel`, { auth: true })));
    expect(rs.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409, 409]);
    expect(await history(t, job!.id)).toEqual(['Waiting', 'Cancelled']);
  });

  it('§10.36 concurrent cancel-alls append exactly one Cancelled row per job', async () => {
    for (const p of ['c1', 'c2', 'c3']) ok(await hook({ package: p }));
    const ids = (await allJobs()).map((j) => j.id);
    const rs = await Promise.all([t.get('/job/cancelall', { auth: true }), t.req('DELETE', '/job', { auth: true }), t.get('/job/cancelall', { auth: true })]);
    for (const r of rs) expect(r.status).toBe(202);
    for (const id of ids) expect(await history(t, id)).toEqual(['Waiting', 'Cancelled']);
  });

  // ---------------------------------------------------------------- supersede
  it('§10.38 a newer or equal version supersedes unfinished jobs for the same target; an older one does not', async () => {
    ok(await hook({ package_version: '1.0-1' }));
    const v10 = (await allJobs()).map((j) => j.id);
    ok(await hook({ package_version: '0.9-1' }));
    expect(await Promise.all(v10.map(statusOf))).toEqual(['Waiting', 'Waiting']);
    const v09 = (await jobsAfter(Math.max(...v10))).map((j) => j.id);
    ok(await hook({ package_version: '1.1-1' }));
    expect(await Promise.all([...v10, ...v09].map(statusOf))).toEqual(['Cancelled', 'Cancelled', 'Cancelled', 'Cancelled']);
    const v11 = (await jobsAfter(Math.max(...v09))).map((j) => j.id);
    // the same version again cancels the earlier one
    ok(await hook({ package_version: '1.1-1' }));
    expect(await Promise.all(v11.map(statusOf))).toEqual(['Cancelled', 'Cancelled']);
    expect(await unfinished()).toEqual((await jobsAfter(Math.max(...v11))).map((j) => j.id));
  });

  it('§10.38 supersede follows Debian version order (epochs, tildes, revisions) and the exact target', async () => {
    const seq: Array<[string, boolean]> = [
      // [version submitted next, does it cancel the previous one?]
      ['1.0~rc1-1', true],
      ['1.0-1', true], // 1.0-1 > 1.0~rc1-1
      ['1.0~rc2-1', false], // lower
      ['1.0-1+b1', true],
      ['1:0.1-1', true], // epoch wins
      ['2.0-1', false], // 2.0-1 < 1:0.1-1
    ];
    let prev: number[] = [];
    for (const [version, cancels] of seq) {
      const before = await maxJobId();
      ok(await hook({ package_version: version, architecture_list: 'i386' }));
      const mine = (await jobsAfter(before)).map((j) => j.id);
      expect(mine.length).toBe(1);
      if (prev.length) expect(await statusOf(prev[0]!), `${version} after previous`).toBe(cancels ? 'Cancelled' : 'Waiting');
      prev = mine;
    }
    // other arch / suite / package: untouched
    ok(await hook({ package_version: '0.1-1', architecture_list: 'armel' }));
    const armel = (await allJobs()).filter((j) => j.packageinstance.arch.name === 'armel')[0]!.id;
    ok(await hook({ package_version: '9.9-1', architecture_list: 'i386', suite: 'chickpea' }));
    ok(await hook({ package: 'hello2', package_version: '9.9-1', architecture_list: 'armel' }));
    expect(await statusOf(armel)).toBe('Waiting');
  });

  it('§10.38 supersede respects build environments: same env cancels, another env or none does not', async () => {
    const dev = await t.idOf('suite', 'development');
    const i386sa = (await t.kysely.selectFrom('suitearches').select('id').where('suite_id', '=', dev).where('arch_id', '=', await t.idOf('arch', 'i386')).executeTakeFirstOrThrow()).id;
    // a job without env first, then map i386 to wheezy: the new wheezy job must not touch it
    ok(await hook({ architecture_list: 'i386' }));
    const [noEnv] = await allJobs();
    ok(await t.put('/buildenv_suitearch', { buildenv_id: await t.idOf('buildenv', 'wheezy'), suitearch_id: i386sa }));
    ok(await hook({ architecture_list: 'i386', package_version: '1.0-2' }));
    const wheezy = (await jobsAfter(noEnv!.id))[0]!;
    expect(wheezy.packageinstance.build_env?.name).toBe('wheezy');
    expect(await statusOf(noEnv!.id)).toBe('Waiting');
    ok(await hook({ architecture_list: 'i386', package_version: '1.0-3' }));
    expect(await statusOf(wheezy.id)).toBe('Cancelled');
    expect(await statusOf(noEnv!.id)).toBe('Waiting');
  });

  // ---------------------------------------------------------------- retry
  it('§10.39 retry creates a new job for the same instance with the logged transport; the old one is superseded', async () => {
    ok(await hook({ architecture_list: 'any', method: 'git', uri: 'https://git/hello.git', vcs_id: 'abc123' }));
    const [i386, armel] = await allJobs();
    await setStatus(armel!.id, 'Failed');
    const outbox = await t.count('outbox');
    expect((await t.get(`/job/${armel!.id}/retry`)).status).toBe(401);
    const r = await t.get(`/job/${armel!.id}/retry`, { auth: true });
    expect(r.status, r.text).toBe(200);
    const fresh = await jobsAfter(armel!.id);
    expect(fresh.length).toBe(1);
    expect(fresh[0]!.packageinstance.id).toBe(armel!.packageinstance.id);
    expect(await statusOf(armel!.id)).toBe('Cancelled');
    expect(await statusOf(i386!.id)).toBe('Waiting');
    const br = await t.kysely.selectFrom('buildrequest').selectAll().where('job', '=', fresh[0]!.id).executeTakeFirstOrThrow();
    expect([br.method, br.uri, br.vcs_id]).toEqual(['git', 'https://git/hello.git', 'abc123']);
    expect(await t.count('outbox')).toBe(outbox + 1);
    const msg = JSON.parse((await t.kysely.selectFrom('outbox').select('body').orderBy('id', 'desc').executeTakeFirstOrThrow()).body);
    expect(msg.job.id).toBe(fresh[0]!.id);
    expect(msg.transport).toEqual({ 'py/object': 'pybit.models.Transport', id: null, method: 'git', uri: 'https://git/hello.git', vcs_id: 'abc123' });
    // retrying a Done job works too (nothing to supersede); unknown → 404
    await setStatus(fresh[0]!.id, 'Done');
    ok(await t.get(`/job/${fresh[0]!.id}/retry`, { auth: true }));
    expect(await statusOf(fresh[0]!.id)).toBe('Done');
    expect((await t.get('/job/99999/retry', { auth: true })).status).toBe(404);
  });

  it('§10.39 retry of a job in a build environment stays in that environment', async () => {
    const dev = await t.idOf('suite', 'development');
    for (const arch of ['i386', 'armel']) {
      const sa = (await t.kysely.selectFrom('suitearches').select('id').where('suite_id', '=', dev).where('arch_id', '=', await t.idOf('arch', arch)).executeTakeFirstOrThrow()).id;
      for (const env of ['squeeze', 'wheezy']) ok(await t.put('/buildenv_suitearch', { buildenv_id: await t.idOf('buildenv', env), suitearch_id: sa }));
    }
    ok(await hook());
    const jobs = await allJobs();
    const target = jobs.find((j) => j.packageinstance.build_env?.name === 'wheezy' && j.packageinstance.arch.name === 'armel')!;
    ok(await t.get(`/job/${target.id}/retry`, { auth: true }));
    const fresh = await jobsAfter(Math.max(...jobs.map((j) => j.id)));
    expect(fresh.map((j) => j.packageinstance.id)).toEqual([target.packageinstance.id]);
    expect(await Promise.all(jobs.map((j) => statusOf(j.id)))).toEqual(jobs.map((j) => (j.id === target.id ? 'Cancelled' : 'Waiting')));
  });

  // ---------------------------------------------------------------- delete
  it('§10.40 deleting a Building job is refused (404 Cannot DELETE); other jobs go with their history (intent)', async () => {
    ok(await hook());
    const [a, b] = await allJobs();
    await setStatus(a!.id, 'Building', 'build_client_7');
    await setStatus(b!.id, 'Building', 'build_client_7');
    await setStatus(b!.id, 'Done');
    const before = await t.counts();
    expect((await t.get(`/job/${a!.id}/delete`)).status).toBe(401);
    const refused = await t.get(`/job/${a!.id}/delete`, { auth: true });
    expect(refused.status).toBe(404);
    expect(refused.text).toBe('404 Cannot DELETE');
    const refused2 = await t.req('DELETE', `/job/${a!.id}`, { auth: true });
    expect(refused2.status).toBe(404);
    expect(await t.counts()).toEqual(before);

    const r = await t.get(`/job/${b!.id}/delete`, { auth: true });
    expect(r.status).toBe(200);
    expect(r.text).toBe('200 DELETE OK');
    expect((await t.get(`/job/${b!.id}`)).status).toBe(404);
    expect((await t.get(`/job/${b!.id}/status`)).status).toBe(404);
    const after = await t.counts();
    expect(after.job).toBe(before.job - 1);
    expect(after.jobstatus).toBe(before.jobstatus - 3);
    expect(after.buildrequest).toBe(before.buildrequest - 1);
    expect(after.packageinstance).toBe(before.packageinstance);
    expect(await t.kysely.selectFrom('jobstatus').select('id').where('job_id', '=', b!.id).execute()).toEqual([]);

    // DELETE /job/<id> on a Waiting job (which still has an unsent message) works the same
    ok(await hook({ package: 'waiting' }));
    const w = (await allJobs()).filter((j) => j.packageinstance.package.name === 'waiting');
    const d = await t.req('DELETE', `/job/${w[0]!.id}`, { auth: true });
    expect(d.status).toBe(200);
    expect(d.text).toBe('200 DELETE OK');
    expect((await t.req('DELETE', `/job/${w[0]!.id}`, { auth: true })).status).toBe(404);
    // the instance of a deleted job can now be deleted too, if no other job refers to it
    const piOfB = b!.packageinstance.id;
    expect((await t.req('DELETE', `/packageinstance/${piOfB}`, { auth: true })).status).toBe(200);
  });
});
