// process_job writes a submission with few statements and builds each BuildRequest from the
// values it wrote instead of reading the job back. These tests hold that shortcut to the truth:
// every message must equal the one rebuilt from the database, across new and reused instances,
// flipped master flags, build environments, a suite that gained an arch, and POST /job; and
// superseding over several arches and environments cancels exactly the right jobs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/db';
import { hookForm, startTestController, type Res, type TestController } from '../helpers/controller';
import { buildRequestForJob } from '../../src-main/controller/domain/models';
import { buildQueueName, buildRoutingKey, type BuildRequest } from '@shared/pybit-models';

describe.each(DIALECTS)('process_job writes ($name)', ({ make }) => {
  let t: TestController;
  beforeEach(async () => {
    checkedUpTo = 0;
    t = await startTestController(make, { sampleData: true });
  });
  afterEach(async () => {
    await t?.close();
  });

  const ok = (r: Res) => expect(r.status, r.text).toBe(200);
  const hook = (over: Record<string, string> = {}) => t.post('/job/vcshook', hookForm(over));
  const jobIds = async () => (await t.kysely.selectFrom('job').select('id').orderBy('id').execute()).map((r) => r.id);
  const statusOf = async (id: number) => (await t.kysely.selectFrom('job').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  let checkedUpTo = 0;
  /**
   * Every BuildRequest written since the last check equals the one rebuilt from the job's rows
   * now (call it before changing those rows). Returns how many were checked.
   */
  async function expectMessagesMatchDatabase(): Promise<number> {
    const rows = await t.kysely
      .selectFrom('outbox')
      .select(['id', 'job_id', 'routing_key', 'queue', 'body', 'exchange'])
      .where('routing_key', 'like', '%.%.%.%')
      .where('id', '>', checkedUpTo)
      .orderBy('id')
      .execute();
    checkedUpTo = Math.max(checkedUpTo, ...rows.map((r) => r.id));
    for (const r of rows) {
      const fromDb = await buildRequestForJob(t.kysely, r.job_id!, t.c.ctx.config.webHost);
      expect(fromDb, `job ${r.job_id}`).toBeDefined();
      const sent = JSON.parse(r.body) as BuildRequest;
      expect(sent, `job ${r.job_id}`).toEqual(JSON.parse(JSON.stringify(fromDb)));
      const pi = sent.job.packageinstance;
      expect(r.routing_key).toBe(buildRoutingKey(pi.distribution.name, pi.arch.name, pi.suite.name, pi.format.name));
      expect(r.queue).toBe(buildQueueName(pi.distribution.name, pi.arch.name, pi.suite.name, pi.format.name));
      expect(r.exchange).toBe('pybit');
    }
    return rows.length;
  }

  async function mapEnv(env: string, suite: string, arch: string): Promise<void> {
    const sa = await t.kysely
      .selectFrom('suitearches')
      .select('id')
      .where('suite_id', '=', await t.idOf('suite', suite))
      .where('arch_id', '=', await t.idOf('arch', arch))
      .executeTakeFirstOrThrow();
    ok(await t.put('/buildenv_suitearch', { buildenv_id: await t.idOf('buildenv', env), suitearch_id: sa.id }));
  }

  it('messages equal the database for new, reused, re-flagged and hand-made instances and POST /job', async () => {
    ok(await hook()); // new package: i386 master, armel slave
    ok(await hook()); // same version again: both instances reused
    expect(await expectMessagesMatchDatabase()).toBe(4);
    const pis = await t.kysely.selectFrom('packageinstance').select(['id', 'master', 'arch_id']).orderBy('id').execute();
    expect(pis.length).toBe(2);
    // Flip the flags by hand; a resubmission must keep (and announce) the stored flags.
    for (const p of pis) {
      const r = await t.req('GET', `/packageinstance/${p.id}/togglemaster/${p.master ? 0 : 1}`, { auth: true });
      expect(r.status, r.text).toBe(202);
    }
    ok(await hook({ uri: 'http://svn/hello-other', vcs_id: '43' }));
    expect(await expectMessagesMatchDatabase()).toBe(2);
    const latest = (await jobIds()).slice(-2);
    const masters = await t.kysely
      .selectFrom('job as j')
      .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
      .select(['j.id', 'pi.master'])
      .where('j.id', 'in', latest)
      .execute();
    expect(masters.map((m) => m.master).sort()).toEqual(pis.map((p) => (p.master ? 0 : 1)).sort());

    // The suite gains an arch: one instance is new, two are reused, in one submission.
    ok(await t.put('/arch', { name: 'arm64' }));
    ok(await t.put('/suitearch', { suite_id: await t.idOf('suite', 'development'), arch_id: await t.idOf('arch', 'arm64'), master_weight: 5 }));
    ok(await hook());
    expect(await expectMessagesMatchDatabase()).toBe(3);
    expect(await t.count('packageinstance')).toBe(3);
    const arm64 = await t.kysely
      .selectFrom('packageinstance')
      .select(['id', 'master'])
      .where('arch_id', '=', await t.idOf('arch', 'arm64'))
      .executeTakeFirstOrThrow();
    expect(arm64.master).toBe(1);

    // POST /job on an instance made by hand for an arch the suite does not map.
    ok(await t.put('/arch', { name: 'mips' }));
    ok(
      await t.put('/packageinstance', {
        package: 'hello',
        version: '1.0-1',
        arch_id: await t.idOf('arch', 'mips'),
        suite_id: await t.idOf('suite', 'development'),
        dist_id: await t.idOf('distribution', 'Debian'),
        format_id: await t.idOf('format', 'deb'),
        slave: '1',
      }),
    );
    const mips = await t.kysely.selectFrom('packageinstance').select('id').where('arch_id', '=', await t.idOf('arch', 'mips')).executeTakeFirstOrThrow();
    ok(await t.post('/job', { packageinstance_id: mips.id, method: 'git', uri: 'http://git/hello', vcs_id: 'abc' }));

    expect(await expectMessagesMatchDatabase()).toBe(1);
    expect(await t.count('outbox')).toBe(2 + 2 + 2 + 3 + 1);
    // One Waiting history row and one transport row per job (resubmissions cancelled the
    // earlier jobs of the same targets, which adds their Cancelled rows).
    const waiting = await t.idOf('status', 'Waiting');
    for (const id of await jobIds()) {
      const hist = await t.kysely.selectFrom('jobstatus').select('status_id').where('job_id', '=', id).orderBy('id').execute();
      expect(hist[0]?.status_id).toBe(waiting);
      expect(hist.filter((h) => h.status_id === waiting)).toHaveLength(1);
      expect(await t.kysely.selectFrom('buildrequest').select('id').where('job', '=', id).execute()).toHaveLength(1);
    }
  });

  it('build environments: one job per (environment, arch), a master per environment, messages equal the database', async () => {
    await mapEnv('squeeze', 'development', 'i386');
    await mapEnv('wheezy', 'development', 'i386');
    await mapEnv('wheezy', 'development', 'armel');
    ok(await hook());
    const jobs = await t.kysely
      .selectFrom('job as j')
      .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
      .innerJoin('arch as a', 'a.id', 'pi.arch_id')
      .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
      .select(['j.id', 'a.name as arch', 'be.name as env', 'pi.master'])
      .orderBy('j.id')
      .execute();
    expect(jobs.map((j) => [j.env, j.arch, j.master])).toEqual([
      ['squeeze', 'i386', 1],
      ['wheezy', 'i386', 1],
      ['wheezy', 'armel', 0],
    ]);
    const br = await t.kysely.selectFrom('buildrequest').select(['job', 'buildenv_name']).orderBy('job').execute();
    expect(br.map((b) => [b.job, b.buildenv_name])).toEqual(jobs.map((j) => [j.id, j.env]));
    expect(await expectMessagesMatchDatabase()).toBe(3);
    const body = JSON.parse((await t.kysely.selectFrom('outbox').select('body').where('job_id', '=', jobs[0]!.id).executeTakeFirstOrThrow()).body) as BuildRequest;
    expect(body.job.packageinstance.build_env).toMatchObject({ name: 'squeeze' });
  });

  it('one submission supersedes per (arch, environment): older and equal versions only, finished jobs untouched, other suites untouched', async () => {
    await mapEnv('wheezy', 'development', 'i386');
    await mapEnv('wheezy', 'development', 'armel');
    ok(await hook({ package_version: '1.0-1' })); // wheezy/i386, wheezy/armel
    const v1 = await jobIds();
    ok(await hook({ package_version: '1.0-1', suite: 'chickpea' })); // another suite: never superseded
    const other = (await jobIds()).filter((id) => !v1.includes(id));
    // One of the old jobs is finished already: it stays Done.
    ok(await t.put(`/job/${v1[1]}`, { status: 'Done' }));

    ok(await hook({ package_version: '2.0-1' }));
    const v2 = (await jobIds()).filter((id) => !v1.includes(id) && !other.includes(id));
    expect(v2).toHaveLength(2);
    expect(await statusOf(v1[0]!)).toBe('Cancelled');
    expect(await statusOf(v1[1]!)).toBe('Done');
    for (const id of other) expect(await statusOf(id)).toBe('Waiting');
    for (const id of v2) expect(await statusOf(id)).toBe('Waiting');

    // An older version supersedes nothing; an equal one supersedes the jobs it repeats.
    ok(await hook({ package_version: '1.5-1' }));
    for (const id of v2) expect(await statusOf(id)).toBe('Waiting');
    const older = (await jobIds()).slice(-2);
    ok(await hook({ package_version: '2.0-1', architecture_list: 'armel' }));
    const armelV2 = await t.kysely
      .selectFrom('job as j')
      .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
      .select(['j.id', 'pi.arch_id'])
      .where('j.id', 'in', v2)
      .execute();
    const armel = await t.idOf('arch', 'armel');
    for (const j of armelV2) expect(await statusOf(j.id), `job ${j.id}`).toBe(j.arch_id === armel ? 'Cancelled' : 'Waiting');
    // 1.5-1 is older than the 2.0-1 armel job just made, so its armel job went too; i386 stays.
    const olderArches = await t.kysely
      .selectFrom('job as j')
      .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
      .select(['j.id', 'pi.arch_id'])
      .where('j.id', 'in', older)
      .execute();
    for (const j of olderArches) expect(await statusOf(j.id), `job ${j.id}`).toBe(j.arch_id === armel ? 'Cancelled' : 'Waiting');
    // Every cancellation is in the history, once.
    const cancelledId = await t.idOf('status', 'Cancelled');
    const hist = await t.kysely.selectFrom('jobstatus').select('job_id').where('status_id', '=', cancelledId).execute();
    const cancelled = (await t.kysely.selectFrom('job').select('id').where('status', '=', 'Cancelled').execute()).map((r) => r.id).sort((a, b) => a - b);
    expect(hist.map((h) => h.job_id).sort((a, b) => a - b)).toEqual(cancelled);
  });

  it('a refused or failing submission leaves nothing behind (lookups read in the same statement)', async () => {
    ok(await t.put('/blacklist', { field: 'name', regex: '^evil' }));
    const before = await t.counts();
    expect((await hook({ package: 'evil-pkg' })).status).toBe(403);
    expect((await hook({ suite: 'nosuch' })).status).toBe(400);
    expect((await hook({ distribution: 'Nosuch' })).status).toBe(400);
    expect((await hook({ format: 'nosuch' })).status).toBe(400);
    expect((await hook({ architecture_list: 'sparc' })).status).toBe(400);
    expect(await t.counts()).toEqual(before);
    // Lookup rows changed straight in the database are seen by the next submission.
    await t.kysely.deleteFrom('blacklist').execute();
    await t.kysely.insertInto('suite').values({ name: 'direct' }).execute();
    await t.kysely
      .insertInto('suitearches')
      .values({ suite_id: await t.idOf('suite', 'direct'), arch_id: await t.idOf('arch', 'armel'), master_weight: 0 })
      .execute();
    ok(await hook({ package: 'evil-pkg', suite: 'direct' }));
    expect(await expectMessagesMatchDatabase()).toBe(1);
  });
});
