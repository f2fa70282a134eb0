// Packages kept in subdirectories of one git repository, built for real: a GitHub push webhook
// on a real controller queues each package with `#subdir=<dir>` on its URI, a real worker
// process (dpkg backend, RabbitMQ) clones the repository and builds each directory to Done.
// Directories that are missing or that a symbolic link leads out of the repository fail the
// job with the reason in its log; svn URIs take the same fragment.
import { execFileSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactInfo } from '../../src-shared/worker-api';
import { request } from '../helpers/controller';
import { uniqueName } from '../helpers/db';
import { startWorkerFarm, type WorkerFarm } from '../helpers/worker-farm';
import { userToken } from '../cli/helpers';
import { hasCommand } from '../hooks/helpers';
import { writeSourceTree } from '../fixtures/make-package';
import { serveDirectory, type StaticServer } from '../fixtures/static-server';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import type { TestController } from './controller-harness';

const dirs = tempDirs();
let farm: WorkerFarm;
let ctl: TestController;
let served: StaticServer;
let token: string;
let mono: { uri: string; commit: string; bare: string };
let suite: string;

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    stdio: 'pipe',
    env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@buildbox.invalid', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@buildbox.invalid' },
  })
    .toString()
    .trim();

const log = async (id: number) => (await ctl.bytes(`/api/v1/jobs/${id}/log?offset=0&length=10000000`)).toString();

beforeAll(async () => {
  farm = await startWorkerFarm({ label: 'bbsub' });
  ({ ctl, suite } = farm);
  token = await userToken(ctl.c);

  // One repository, no package at its root: pkgs/bbsub-a-1.0, pkgs/group/bbsub-b-2.0, and a
  // symbolic link that points out of the repository.
  const root = dirs.make('bb-sub-src-');
  const tree = join(root, 'mono');
  mkdirSync(join(tree, 'pkgs', 'group'), { recursive: true });
  writeSourceTree(join(tree, 'pkgs'), { name: 'bbsub-a', version: '1.0' });
  writeSourceTree(join(tree, 'pkgs', 'group'), { name: 'bbsub-b', version: '2.0', architecture: 'all' });
  writeFileSync(join(tree, 'README'), 'several packages\n');
  symlinkSync('/usr/share/doc/dpkg', join(tree, 'escape'));
  git(tree, 'init', '-q', '-b', 'main');
  git(tree, 'add', '-A');
  git(tree, 'commit', '-q', '-m', 'two packages');
  const commit = git(tree, 'rev-parse', 'HEAD');
  const bare = join(root, 'served', 'mono.git');
  mkdirSync(join(root, 'served'));
  git(root, 'clone', '-q', '--bare', tree, bare);
  git(bare, 'update-server-info');
  served = await serveDirectory(join(root, 'served'));
  mono = { uri: `${served.url}/mono.git`, commit, bare };
});

afterAll(async () => {
  await farm?.close();
  await served?.close();
  dirs.cleanup();
});

describe('packages in subdirectories of a git repository', () => {
  it('a push webhook queues each package with its directory; the worker builds each directory to Done', async () => {
    const auth = { header: `Bearer ${token}` };
    const created = await request(ctl.url, 'POST', '/api/v1/repositories', { json: { name: uniqueName('mono'), provider: 'github', cloneUrl: mono.uri, suite }, auth });
    expect(created.status, created.text).toBe(201);
    const repo = created.json<{ webhookUrl: string; secret: string }>();
    const body = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: mono.commit, repository: { clone_url: mono.uri } });
    const r = await fetch(repo.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', repo.secret).update(body).digest('hex')}`,
      },
      body,
    });
    const answer = (await r.json()) as { queued: Array<{ package: string; subdir: string; jobIds: number[] }> };
    expect(r.status, JSON.stringify(answer)).toBe(201);
    expect(answer.queued.map((q) => [q.package, q.subdir])).toEqual([
      ['bbsub-a', 'pkgs/bbsub-a-1.0'],
      ['bbsub-b', 'pkgs/group/bbsub-b-2.0'],
    ]);

    for (const q of answer.queued) {
      expect(q.jobIds).toHaveLength(1);
      const id = q.jobIds[0]!;
      const j = await ctl.waitFinal(id);
      expect([j.status, j.result], await log(id)).toEqual(['Done', 'OK']);
      const detail = await ctl.json<{ transport: { uri: string; vcsId: string } }>(`/api/v1/jobs/${id}`);
      expect(detail.transport).toMatchObject({ uri: `${mono.uri}#subdir=${q.subdir}`, vcsId: mono.commit });
      // The package built is the directory's: its .deb carries that package's README.
      const arts = await ctl.json<ArtifactInfo[]>(`/api/v1/jobs/${id}/artifacts`);
      const debName = arts.map((a) => a.name).find((n) => n.startsWith(`${q.package}_`) && n.endsWith('.deb'));
      expect(debName, arts.map((a) => a.name).join(' ')).toBeDefined();
      const deb = join(dirs.make('bb-sub-deb-'), debName!);
      writeFileSync(deb, await ctl.bytes(arts.find((a) => a.name === debName)!.url));
      const out = dirs.make('bb-sub-x-');
      execFileSync('dpkg-deb', ['-x', deb, out]);
      const version = q.package === 'bbsub-a' ? '1.0' : '2.0';
      expect(readFileSync(join(out, 'usr', 'share', 'doc', q.package, 'README'), 'utf8')).toBe(`Buildbox test package ${q.package} ${version}\n`);
    }
  }, 120_000);

  it('a directory the commit lacks, or one a symbolic link leads out of the repository, fails the job saying so', async () => {
    const missing = await ctl.submit({ name: 'bbsub-a', version: '1.0', method: 'git', uri: `${mono.uri}#subdir=pkgs/nothing-here`, vcsId: mono.commit, suite, arch: HOST_ARCH });
    let j = await ctl.waitFinal(missing);
    expect(j.status).toBe('Failed');
    expect(await log(missing)).toContain(`the repository has no directory pkgs/nothing-here at ${mono.commit}`);

    const escape = await ctl.submit({ name: 'bbsub-a', version: '1.0', method: 'git', uri: `${mono.uri}#subdir=escape`, vcsId: mono.commit, suite, arch: HOST_ARCH });
    j = await ctl.waitFinal(escape);
    expect(j.status).toBe('Failed');
    const text = await log(escape);
    expect(text).toContain('escape leads outside the repository');
    expect(text).not.toContain('dpkg-source -b');
  }, 120_000);

  it('refuses subdirectories that leave the repository with 400 and queues nothing', async () => {
    const before = await ctl.jobIds('bbsub-a', '1.0');
    for (const [fragment, why] of [
      ['subdir=../other', "must not contain '..' segments"],
      ['subdir=pkgs/%2E%2E/%2E%2E/etc', "must not contain '..' segments"],
      ['subdir=/etc', 'must be relative to the repository root'],
      ['subdir=', 'the subdirectory is empty'],
      ['subdir=pkgs//a', 'empty path segment'],
      ['branch=main', "may only be 'subdir=<path>'"],
      ['subdir=a&subdir=b', "may only be 'subdir=<path>'"],
    ]) {
      const r = await ctl.call('POST', '/job/vcshook', {
        method: 'git',
        uri: `${mono.uri}#${fragment}`,
        vcs_id: mono.commit,
        distribution: 'Debian',
        architecture_list: HOST_ARCH,
        package_version: '1.0',
        package: 'bbsub-a',
        suite,
        format: 'deb',
      });
      expect(r.status, `${fragment}: ${r.text}`).toBe(400);
      expect(r.text).toContain(why);
      expect(r.text).toContain("'uri'");
    }
    expect(await ctl.jobIds('bbsub-a', '1.0')).toEqual(before);
  });
});

const HAVE_SVN = hasCommand('svnadmin') && hasCommand('svn');
if (!HAVE_SVN) console.warn('skipping the svn subdirectory build: svnadmin/svn not installed (apt-get install subversion; .ci/run does)');

describe.skipIf(!HAVE_SVN)('packages in subdirectories of an svn repository', () => {
  it('builds the directory named by its URL (what the post-commit hook sends) and by a #subdir= fragment', async () => {
    const root = dirs.make('bb-sub-svn-');
    const src = join(root, 'import');
    mkdirSync(join(src, 'trunk', 'pkgs'), { recursive: true });
    writeSourceTree(join(src, 'trunk', 'pkgs'), { name: 'bbsub-svn', version: '3.0' });
    execFileSync('svnadmin', ['create', join(root, 'repo')]);
    const url = `file://${join(root, 'repo')}`;
    execFileSync('svn', ['import', '-q', '-m', 'packages', src, url]);

    const byPath = await ctl.submit({ name: 'bbsub-svn', version: '3.0', method: 'svn', uri: `${url}/trunk/pkgs/bbsub-svn-3.0`, vcsId: '1', suite, arch: HOST_ARCH });
    let j = await ctl.waitFinal(byPath);
    expect([j.status, j.result], await log(byPath)).toEqual(['Done', 'OK']);
    const byFragment = await ctl.submit({ name: 'bbsub-svn', version: '3.0', method: 'svn', uri: `${url}/trunk#subdir=pkgs/bbsub-svn-3.0`, vcsId: '1', suite, arch: HOST_ARCH });
    j = await ctl.waitFinal(byFragment);
    expect([j.status, j.result], await log(byFragment)).toEqual(['Done', 'OK']);
    expect(await log(byFragment)).toContain(`svn export --non-interactive --quiet ${url}/trunk/pkgs/bbsub-svn-3.0@1`);
  }, 120_000);
});
