// `buildbox submit | jobs | logs | cancel | retry` as a child process against a real controller:
// submissions from a source tree, a .dsc, a .changes and a git URL; the job table; cancel and
// retry; a log written through the worker API; and refusals that name what is wrong.
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteTestDb, tempDir, uniqueName } from '../helpers/db';
import { setupSuite, startTestController, type TestController } from '../helpers/controller';
import { makeSourcePackage, writeSourceTree } from '../fixtures/make-package';
import { SourceServer } from '../worker-e2e/sources';
import { cli, userToken, type CliResult } from './helpers';

let t: TestController;
let token: string;
let sources: SourceServer;
const tmp = tempDir('bb-cli-');
// dpkg-source refuses '_' in a changelog's distribution.
const suite = uniqueName('clisuite').replace(/_/g, '-');
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestController(sqliteTestDb);
  await setupSuite(t, suite, [
    { name: 'amd64', weight: 1 },
    { name: 'arm64', weight: 0 },
  ]);
  token = await userToken(t.c);
  env = { BUILDBOX_URL: t.url, BUILDBOX_TOKEN: token };
  sources = await SourceServer.start(join(tmp.dir, 'served'));
});

afterAll(async () => {
  await sources?.close();
  await t?.close();
  tmp.cleanup();
});

const ok = (r: CliResult) => {
  expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
  return r;
};

async function jobsOf(name: string) {
  return t.kysely
    .selectFrom('job as j')
    .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
    .innerJoin('package as p', 'p.id', 'pi.package_id')
    .innerJoin('arch as a', 'a.id', 'pi.arch_id')
    .innerJoin('suite as s', 's.id', 'pi.suite_id')
    .innerJoin('buildrequest as br', 'br.job', 'j.id')
    .select(['j.id', 'j.status', 'p.name', 'p.version', 'a.name as arch', 's.name as suite', 'br.method', 'br.uri', 'br.vcs_id'])
    .where('p.name', '=', name)
    .orderBy('j.id')
    .execute();
}

describe('buildbox submit', () => {
  it('from a source tree: reads debian/changelog and debian/control, sends the given transport', async () => {
    const tree = writeSourceTree(join(tmp.dir, 'trees'), { name: 'bbcli-tree', version: '2.0-1', distribution: suite });
    const r = ok(await cli(['submit', tree.tree, '--git-url', 'http://git.invalid/bbcli-tree.git', '--vcs-id', 'abc123'], env));
    const jobs = await jobsOf('bbcli-tree');
    // Architecture: any over a suite with two arches: one job per arch.
    expect(jobs.map((j) => j.arch).sort()).toEqual(['amd64', 'arm64']);
    for (const j of jobs) expect(j).toMatchObject({ version: '2.0-1', suite, method: 'git', uri: 'http://git.invalid/bbcli-tree.git', vcs_id: 'abc123', status: 'Waiting' });
    expect(r.stdout).toContain(`queued bbcli-tree 2.0-1 for ${suite}`);
    for (const j of jobs) expect(r.stdout).toContain(String(j.id));
  });

  it('--suite and --arch override the changelog and control; --uri needs a method outside a checkout', async () => {
    const tree = writeSourceTree(join(tmp.dir, 'trees'), { name: 'bbcli-over', version: '1.0', distribution: 'unstable' });
    let r = await cli(['submit', tree.tree, '--uri', 'svn://svn.invalid/bbcli-over'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--method/);
    ok(await cli(['submit', tree.tree, '--uri', 'svn://svn.invalid/bbcli-over', '--method', 'svn', '--vcs-id', '7', '--suite', suite, '--arch', 'arm64'], env));
    const jobs = await jobsOf('bbcli-over');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ arch: 'arm64', suite, method: 'svn', uri: 'svn://svn.invalid/bbcli-over', vcs_id: '7' });
    // Without --suite the changelog's 'unstable' is used, which this controller does not know.
    r = await cli(['submit', tree.tree, '--uri', 'svn://svn.invalid/bbcli-over', '--method', 'svn'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown suite 'unstable'");
  });

  it('refuses a tree without a transport, a broken changelog, a missing token and a bad token', async () => {
    const tree = writeSourceTree(join(tmp.dir, 'trees'), { name: 'bbcli-bad', version: '1.0', distribution: suite });
    let r = await cli(['submit', tree.tree], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--git-url/);
    r = await cli(['submit', tree.tree, '--git-url', 'http://x.invalid/r.git'], { BUILDBOX_URL: t.url, BUILDBOX_TOKEN: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/authentication required/);
    r = await cli(['submit', tree.tree, '--git-url', 'http://x.invalid/r.git'], { BUILDBOX_URL: t.url, BUILDBOX_TOKEN: 'bbx_wrong' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid credentials/);
    writeFileSync(join(tree.tree, 'debian', 'changelog'), 'this is not a changelog\n');
    r = await cli(['submit', tree.tree, '--git-url', 'http://x.invalid/r.git'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/changelog: line 1 is not a changelog entry header/);
    expect(await jobsOf('bbcli-bad')).toEqual([]);
  });

  it('from a .dsc: uploads it with its files; from a .changes: uploads everything it lists', async () => {
    const pkg = makeSourcePackage(join(tmp.dir, 'dsc'), { name: 'bbcli-dsc', version: '3.1', distribution: suite });
    let r = await cli(['submit', pkg.dsc], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/suite: required/); // a .dsc names no target suite
    r = ok(await cli(['submit', pkg.dsc, '--suite', suite, '--arch', 'amd64'], env));
    expect(r.stdout).toMatch(/uploaded bbcli-dsc 3\.1 \(2 files\)/);
    let jobs = await jobsOf('bbcli-dsc');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ arch: 'amd64', method: 'dsc' });
    expect(jobs[0]!.uri).toMatch(/\/files\/.*bbcli-dsc_3\.1\.dsc$/);

    // A source-only .changes made by dpkg-genchanges names the suite itself.
    const chg = makeSourcePackage(join(tmp.dir, 'chg'), { name: 'bbcli-chg', version: '1.2', distribution: suite });
    const changes = join(chg.dir, 'bbcli-chg_1.2_source.changes');
    execFileSync('dpkg-genchanges', ['-S', `-u${chg.dir}`, `-O${changes}`], { cwd: chg.tree, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    r = ok(await cli(['submit', changes], env));
    jobs = await jobsOf('bbcli-chg');
    expect(jobs.map((j) => j.arch).sort()).toEqual(['amd64', 'arm64']);
    expect(jobs.every((j) => j.suite === suite && j.method === 'dsc')).toBe(true);

    // A listed file that is not there: refused before anything is sent.
    const gone = makeSourcePackage(join(tmp.dir, 'gone'), { name: 'bbcli-gone', version: '1.0' });
    const tar = readdirSync(gone.dir).find((f) => f.includes('.tar'))!;
    execFileSync('rm', [join(gone.dir, tar)]);
    r = await cli(['submit', gone.dsc, '--suite', suite], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${tar}: listed in bbcli-gone_1.0.dsc but missing`);
    expect(await jobsOf('bbcli-gone')).toEqual([]);
  });

  it('from a git URL: reads the changelog at --ref and pins the commit', async () => {
    const g = sources.git({ name: 'bbcli-git', version: '4.0', distribution: suite });
    // g.commit is the packaged commit; the branch head is a later one.
    let r = ok(await cli(['submit', '--git', g.uri, '--ref', g.commit], env));
    let jobs = await jobsOf('bbcli-git');
    expect(jobs).toHaveLength(2);
    for (const j of jobs) expect(j).toMatchObject({ method: 'git', uri: g.uri, vcs_id: g.commit, version: '4.0', suite });
    r = ok(await cli(['submit', '--git', g.uri, '--ref', 'main', '--arch', 'amd64'], env));
    jobs = await jobsOf('bbcli-git');
    const head = execFileSync('git', ['--git-dir', g.bare, 'rev-parse', 'main']).toString().trim();
    expect(head).not.toBe(g.commit);
    expect(jobs.at(-1)).toMatchObject({ arch: 'amd64', vcs_id: head });
    r = await cli(['submit', '--git', `${sources.server.url}/nothing-here.git`], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/git fetch/);
  });
});

describe('buildbox jobs | cancel | retry | logs', () => {
  it('lists jobs in a table with filters, cancels and retries one, and refuses bad ids', async () => {
    const tree = writeSourceTree(join(tmp.dir, 'trees'), { name: 'bbcli-list', version: '1.0', distribution: suite });
    ok(await cli(['submit', tree.tree, '--git-url', 'http://git.invalid/l.git', '--arch', 'amd64'], env));
    const [job] = await jobsOf('bbcli-list');
    let r = ok(await cli(['jobs', '--package', 'bbcli-list'], env));
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+PACKAGE\s+VERSION\s+ARCH\s+SUITE\s+STATUS/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${job!.id}\\s+bbcli-list\\s+1\\.0\\s+amd64\\s+${suite}\\s+Waiting`));

    r = ok(await cli(['cancel', String(job!.id)], env));
    expect(r.stdout).toContain(`job ${job!.id}: Cancelled`);
    r = ok(await cli(['jobs', '--status', 'Cancelled', '--package', 'bbcli-list'], env));
    expect(r.stdout).toContain(`${job!.id}  `);
    r = ok(await cli(['jobs', '--status', 'Waiting', '--package', 'bbcli-list'], env));
    expect(r.stdout.trim().split('\n')).toHaveLength(1); // the header only

    r = ok(await cli(['retry', String(job!.id)], env));
    expect(r.stdout).toContain(`job ${job!.id}: Waiting`);
    expect((await jobsOf('bbcli-list'))[0]!.status).toBe('Waiting');

    r = await cli(['cancel', 'abc'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/job id must be a positive integer/);
    r = await cli(['jobs', '--status', 'Sleeping'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'Sleeping' is not a job status/);
    r = await cli(['retry', '999999'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/999999/);
  });

  it('prints a log written through the worker API, and -f follows it to the end of the build', async () => {
    const tree = writeSourceTree(join(tmp.dir, 'trees'), { name: 'bbcli-log', version: '1.0', distribution: suite });
    ok(await cli(['submit', tree.tree, '--git-url', 'http://git.invalid/log.git', '--arch', 'amd64'], env));
    const [job] = await jobsOf('bbcli-log');
    const id = job!.id;
    const workerToken = await userToken(t.c, 'worker');
    const w = { authorization: `Bearer ${workerToken}`, 'content-type': 'application/json' };
    const claim = await fetch(`${t.url}/api/v1/jobs/${id}/claim`, { method: 'POST', headers: w, body: JSON.stringify({ worker: 'cli-test-worker' }) });
    expect(claim.status, await claim.clone().text()).toBe(200);
    const put = async (offset: number, text: string) => {
      const res = await fetch(`${t.url}/api/v1/jobs/${id}/log?offset=${offset}&worker=cli-test-worker`, {
        method: 'PUT',
        headers: { authorization: w.authorization, 'content-type': 'application/octet-stream' },
        body: text,
      });
      expect(res.status, await res.clone().text()).toBe(200);
    };
    await put(0, 'line one\n');
    let r = ok(await cli(['logs', String(id)], env));
    expect(r.stdout).toBe('line one\n');

    // Follow while the "build" goes on; it ends when the job finishes.
    const following = cli(['logs', '-f', String(id)], env);
    await new Promise((res) => setTimeout(res, 300));
    await put(9, 'line two\n');
    const fin = await fetch(`${t.url}/api/v1/jobs/${id}/finish`, { method: 'POST', headers: w, body: JSON.stringify({ worker: 'cli-test-worker', status: 'Done', result: 'OK' }) });
    expect(fin.status, await fin.clone().text()).toBeLessThan(300);
    r = ok(await following);
    expect(r.stdout).toBe('line one\nline two\n');
    expect(r.stderr).toMatch(new RegExp(`job ${id}: (Done|Uploaded)`));

    r = await cli(['logs', '999999'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no job 999999');
  });
});
