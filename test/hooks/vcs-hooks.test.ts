// The shipped hooks (resources/hooks/buildbox-hook) installed in a real svn repository and a
// real bare git repository, and fed real mails: every changed debian/changelog queues its
// package on a real controller; unchanged packages, broken changelogs and wrong tokens do not.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/db';
import { makeSourcePackage, writeSourceTree } from '../fixtures/make-package';
import { HOOK, bumpChangelog, hasCommand, jobsOf, run, spawnAsync, startHookFarm, type HookFarm } from './helpers';

let farm: HookFarm;
const tmp = tempDir('bb-hooks-');

beforeAll(async () => {
  farm = await startHookFarm();
});
afterAll(async () => {
  await farm?.t.close();
  tmp.cleanup();
});

function config(path: string, extra: Record<string, string> = {}): void {
  const lines = Object.entries({ url: farm.t.url, token: farm.token, ...extra }).map(([k, v]) => `${k} = ${v}`);
  writeFileSync(path, `# written by the test\n[buildbox]\n${lines.join('\n')}\n`);
}

const HAVE_SVN = hasCommand('svnadmin') && hasCommand('svn');
if (!HAVE_SVN) console.warn('skipping the svn post-commit hook test: svnadmin/svn not installed (apt-get install subversion; .ci/run does)');

describe.skipIf(!HAVE_SVN)('svn post-commit hook', () => {
  it('queues every package whose debian/changelog a commit changed, with the revision and the package URL', async () => {
    const repo = join(tmp.dir, 'svnrepo');
    await run('svnadmin', ['create', repo]);
    copyFileSync(HOOK, join(repo, 'hooks', 'post-commit'));
    chmodSync(join(repo, 'hooks', 'post-commit'), 0o755);
    const anon = 'http://svn.example.invalid/repo';
    config(join(repo, 'conf', 'buildbox-hook.conf'), { repo_url: anon });

    // Revision 1: two packages in one commit (pyBit #136).
    const src = join(tmp.dir, 'svnsrc', 'trunk');
    mkdirSync(src, { recursive: true });
    const a = writeSourceTree(src, { name: 'bbsvn-a', version: '1.0-1', distribution: farm.suite, architecture: 'all' });
    const b = writeSourceTree(src, { name: 'bbsvn-b', version: '2.0', distribution: farm.suite });
    await run('svn', ['import', '-q', '-m', 'two packages', join(tmp.dir, 'svnsrc'), `file://${repo}`]);
    let jobs = await jobsOf(farm.t);
    const ja = jobs.filter((j) => j.name === 'bbsvn-a');
    const jb = jobs.filter((j) => j.name === 'bbsvn-b');
    // Architecture: all builds once, on the master arch; any builds on every arch.
    expect(ja.map((j) => j.arch)).toEqual(['amd64']);
    expect(jb.map((j) => j.arch).sort()).toEqual(['amd64', 'arm64']);
    expect(ja[0]).toMatchObject({ version: '1.0-1', suite: farm.suite, method: 'svn', uri: `${anon}/trunk/bbsvn-a-1.0-1`, vcs_id: '1' });
    for (const j of jb) expect(j).toMatchObject({ version: '2.0', method: 'svn', uri: `${anon}/trunk/bbsvn-b-2.0`, vcs_id: '1' });
    const before = jobs.length;

    // Revision 2 changes a README only: nothing is queued.
    const wc = join(tmp.dir, 'svnwc');
    await run('svn', ['checkout', '-q', `file://${repo}`, wc]);
    writeFileSync(join(wc, 'trunk', 'bbsvn-a-1.0-1', 'README'), 'changed\n');
    await run('svn', ['commit', '-q', '-m', 'readme', wc]);
    expect(await jobsOf(farm.t)).toHaveLength(before);

    // Revision 3: a new version of one package.
    bumpChangelog(join(wc, 'trunk', 'bbsvn-a-1.0-1', 'debian', 'changelog'), '1.0-2', farm.suite);
    await run('svn', ['commit', '-q', '-m', 'new version', wc]);
    jobs = await jobsOf(farm.t, 'bbsvn-a');
    expect(jobs.at(-1)).toMatchObject({ version: '1.0-2', vcs_id: '3', uri: `${anon}/trunk/bbsvn-a-1.0-1` });
    expect(await jobsOf(farm.t)).toHaveLength(before + 1);

    // Revision 4: an unparsable changelog is reported by the hook and queues nothing.
    writeFileSync(join(wc, 'trunk', 'bbsvn-b-2.0', 'debian', 'changelog'), 'garbage\n');
    const commit = await spawnAsync('svn', ['commit', '-m', 'broken', wc]);
    const said = commit.stdout + commit.stderr;
    expect(said).toMatch(/post-commit hook failed/);
    expect(said).toMatch(/bbsvn-b-2\.0\/debian\/changelog: line 1 is not a changelog entry header/);
    expect(await jobsOf(farm.t)).toHaveLength(before + 1);
    void a;
    void b;
  });
});

describe('git post-receive hook', () => {
  it('queues each package whose debian/changelog a push changed, at the pushed commit', async () => {
    const bare = join(tmp.dir, 'repo.git');
    await run('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    copyFileSync(HOOK, join(bare, 'hooks', 'post-receive'));
    chmodSync(join(bare, 'hooks', 'post-receive'), 0o755);
    const anon = 'https://git.example.invalid/repo.git';
    config(join(bare, 'buildbox-hook.conf'), { repo_url: anon });

    const wc = join(tmp.dir, 'gitwc');
    await run('git', ['clone', '-q', bare, wc]);
    await run('git', ['checkout', '-q', '-b', 'main'], wc);
    writeSourceTree(wc, { name: 'bbgit-a', version: '1.0', distribution: farm.suite });
    writeSourceTree(wc, { name: 'bbgit-b', version: '5.0', distribution: farm.suite, architecture: 'all' });
    await run('git', ['add', '-A'], wc);
    await run('git', ['commit', '-q', '-m', 'two packages'], wc);
    let push = await spawnAsync('git', ['push', '-q', 'origin', 'main'], { cwd: wc });
    expect(push.status, push.stderr).toBe(0);
    let sha = (await run('git', ['rev-parse', 'HEAD'], wc)).trim();
    const ja = await jobsOf(farm.t, 'bbgit-a');
    const jb = await jobsOf(farm.t, 'bbgit-b');
    expect(ja.map((j) => j.arch).sort()).toEqual(['amd64', 'arm64']);
    expect(jb.map((j) => j.arch)).toEqual(['amd64']);
    for (const j of ja) expect(j).toMatchObject({ method: 'git', vcs_id: sha, uri: `${anon}#subdir=bbgit-a-1.0`, version: '1.0', suite: farm.suite });
    expect(jb[0]).toMatchObject({ method: 'git', vcs_id: sha, uri: `${anon}#subdir=bbgit-b-5.0`, version: '5.0' });
    const count = async () => (await jobsOf(farm.t)).filter((j) => j.name.startsWith('bbgit-')).length;
    const before = await count();

    // A push that touches no changelog queues nothing.
    writeFileSync(join(wc, 'bbgit-a-1.0', 'README'), 'changed\n');
    await run('git', ['commit', '-q', '-a', '-m', 'readme'], wc);
    await run('git', ['push', '-q', 'origin', 'main'], wc);
    expect(await count()).toBe(before);

    // Two commits in one push, each bumping one package: both are queued at the pushed tip.
    bumpChangelog(join(wc, 'bbgit-a-1.0', 'debian', 'changelog'), '1.1', farm.suite);
    await run('git', ['commit', '-q', '-a', '-m', 'a 1.1'], wc);
    bumpChangelog(join(wc, 'bbgit-b-5.0', 'debian', 'changelog'), '5.1', farm.suite);
    await run('git', ['commit', '-q', '-a', '-m', 'b 5.1'], wc);
    await run('git', ['push', '-q', 'origin', 'main'], wc);
    sha = (await run('git', ['rev-parse', 'HEAD'], wc)).trim();
    expect((await jobsOf(farm.t, 'bbgit-a')).filter((j) => j.version === '1.1').map((j) => j.vcs_id)).toEqual([sha, sha]);
    expect((await jobsOf(farm.t, 'bbgit-b')).filter((j) => j.version === '5.1').map((j) => j.vcs_id)).toEqual([sha]);
    expect(await count()).toBe(before + 3);

    // A new branch whose only new commit bumps one package queues that package only.
    await run('git', ['checkout', '-q', '-b', 'feature'], wc);
    bumpChangelog(join(wc, 'bbgit-b-5.0', 'debian', 'changelog'), '5.2', farm.suite);
    await run('git', ['commit', '-q', '-a', '-m', 'b 5.2'], wc);
    await run('git', ['push', '-q', 'origin', 'feature'], wc);
    expect(await count()).toBe(before + 4);
    expect((await jobsOf(farm.t, 'bbgit-b')).at(-1)).toMatchObject({ version: '5.2' });

    // A broken changelog: the push succeeds, the hook says why, nothing is queued.
    writeFileSync(join(wc, 'bbgit-a-1.0', 'debian', 'changelog'), 'bbgit-a 1.2 no parentheses\n');
    await run('git', ['commit', '-q', '-a', '-m', 'broken'], wc);
    push = await spawnAsync('git', ['push', 'origin', 'feature'], { cwd: wc });
    expect(push.status).toBe(0);
    expect(push.stderr).toMatch(/bbgit-a-1\.0\/debian\/changelog: line 1 is not a changelog entry header/);
    expect(await count()).toBe(before + 4);
  });

  it('reports a wrong token and a missing configuration instead of queuing', async () => {
    const bare = join(tmp.dir, 'repo2.git');
    await run('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    const wc = join(tmp.dir, 'gitwc2');
    await run('git', ['clone', '-q', bare, wc]);
    writeSourceTree(wc, { name: 'bbgit-tok', version: '1.0', distribution: farm.suite });
    await run('git', ['add', '-A'], wc);
    await run('git', ['commit', '-q', '-m', 'pkg'], wc);
    await run('git', ['push', '-q', 'origin', 'HEAD:main'], wc);
    const sha = (await run('git', ['rev-parse', 'HEAD'], wc)).trim();
    const zero = '0'.repeat(40);
    const hook = (env: Record<string, string>) =>
      spawnAsync('python3', [HOOK, 'git-post-receive'], { input: `${zero} ${sha} refs/heads/main\n`, cleanEnv: true, env: { PATH: process.env.PATH!, GIT_DIR: bare, ...env } });
    let r = await hook({});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/'url' is not configured/);
    r = await hook({ BUILDBOX_URL: farm.t.url, BUILDBOX_TOKEN: 'bbx_not-a-token' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bbgit-tok 1\.0: HTTP 401/);
    expect(await jobsOf(farm.t, 'bbgit-tok')).toEqual([]);
    // The same call with the right token queues it (the repository URL defaults to file://).
    r = await hook({ BUILDBOX_URL: farm.t.url, BUILDBOX_TOKEN: farm.token });
    expect(r.status, r.stderr).toBe(0);
    expect((await jobsOf(farm.t, 'bbgit-tok'))[0]).toMatchObject({ uri: `file://${bare}#subdir=bbgit-tok-1.0`, vcs_id: sha });
  });
});

describe('.changes mail hook', () => {
  async function changesFile(name: string, version: string): Promise<string> {
    const p = makeSourcePackage(join(tmp.dir, 'mail', name), { name, version, distribution: farm.suite });
    const out = join(p.dir, `${name}_${version}_source.changes`);
    await run('dpkg-genchanges', ['-S', `-u${p.dir}`, `-O${out}`], p.tree, { LC_ALL: 'C.UTF-8' });
    return readFileSync(out, 'utf8');
  }
  const mailHook = (mail: string, env: Record<string, string> = { BUILDBOX_URL: farm.t.url, BUILDBOX_TOKEN: farm.token }) =>
    spawnAsync('python3', [HOOK, 'changes-mail'], { input: mail, cleanEnv: true, env: { PATH: process.env.PATH!, ...env } });

  it('queues the package of a .changes sent as the mail body (signed) or as an attachment', async () => {
    const body = await changesFile('bbmail-body', '1.0');
    const signed = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${body}\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n`;
    let r = await mailHook(`From: dak@example.invalid\nTo: builds@example.invalid\nSubject: Accepted bbmail-body 1.0 (source)\n\n${signed}`);
    expect(r.status, r.stderr).toBe(0);
    const jobs = await jobsOf(farm.t, 'bbmail-body');
    expect(jobs.map((j) => j.arch).sort()).toEqual(['amd64', 'arm64']); // Architecture: source only → any
    for (const j of jobs) expect(j).toMatchObject({ method: 'apt', uri: '', vcs_id: '', version: '1.0', suite: farm.suite });

    const att = await changesFile('bbmail-att', '2.1');
    const mail = [
      'From: dak@example.invalid',
      'Subject: upload',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="XX"',
      '',
      '--XX',
      'Content-Type: text/plain',
      '',
      'See the attachment.',
      '--XX',
      'Content-Type: text/plain',
      'Content-Disposition: attachment; filename="bbmail-att_2.1_source.changes"',
      '',
      att,
      '--XX--',
      '',
    ].join('\n');
    r = await mailHook(mail);
    expect(r.status, r.stderr).toBe(0);
    expect((await jobsOf(farm.t, 'bbmail-att'))[0]).toMatchObject({ method: 'apt', version: '2.1' });
  });

  it('refuses a mail without a .changes, a .changes without Version, and a wrong token; nothing is queued', async () => {
    const before = (await jobsOf(farm.t)).length;
    let r = await mailHook('From: a@example.invalid\nSubject: hello\n\nJust a note.\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no \.changes/);
    const body = await changesFile('bbmail-bad', '1.0');
    r = await mailHook(`Subject: x\n\n${body.replace(/^Version: .*\n/m, '')}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no \.changes|Version field is missing/);
    r = await mailHook(`Subject: x\n\n${body}`, { BUILDBOX_URL: farm.t.url, BUILDBOX_TOKEN: 'bbx_wrong' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/HTTP 401/);
    expect((await jobsOf(farm.t)).length).toBe(before);
  });
});
