// Packages in subdirectories of one git repository, found by the shipped post-receive hook and
// by the GitHub push webhook: each package a push touched is queued with `#subdir=<dir>` on its
// URI (the root package without one), packages the push left alone are not, and a push the
// controller cannot fully read queues nothing at all. Real repositories, served over local
// HTTP for the webhook, on a real controller.
import { createHmac, randomUUID } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitSourceUri } from '../../src-shared/source-subdir';
import { GitReadError, readDebianAtRevision } from '../../src-main/controller/vcs/git-read';
import { uniqueName } from '../helpers/db';
import { writeSourceTree } from '../fixtures/make-package';
import { HOOK, bumpChangelog, jobsOf, run, spawnAsync, startServedHookFarm, type ServedHookFarm } from './helpers';

let farm: ServedHookFarm;

beforeAll(async () => {
  farm = await startServedHookFarm('bb-subdir-');
});
afterAll(() => farm?.close());

const head = async (wc: string) => (await run('git', ['rev-parse', 'HEAD'], wc)).trim();

describe('git post-receive hook', () => {
  it('queues each package whose changelog a push changed with its directory in #subdir=, the root package without one', async () => {
    const bare = join(farm.dir, 'hook.git');
    await run('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    copyFileSync(HOOK, join(bare, 'hooks', 'post-receive'));
    chmodSync(join(bare, 'hooks', 'post-receive'), 0o755);
    const anon = 'https://git.example.invalid/mono.git';
    writeFileSync(join(bare, 'buildbox-hook.conf'), `url = ${farm.t.url}\ntoken = ${farm.token}\nrepo_url = ${anon}\n`);

    const wc = join(farm.dir, 'hookwc');
    await run('git', ['clone', '-q', bare, wc]);
    await run('git', ['checkout', '-q', '-b', 'main'], wc);
    // A package at the root, one two levels down whose directory needs escaping ('+' and a
    // non-ASCII letter, which git would C-quote), and test data that looks like a package
    // inside another package's debian/ directory.
    const root = writeSourceTree(farm.dir, { name: 'bbsd-root', version: '1.0', distribution: farm.suite });
    await run('cp', ['-r', join(root.tree, 'debian'), join(wc, 'debian')]);
    mkdirSync(join(wc, 'pkgs', 'café'), { recursive: true });
    writeSourceTree(join(wc, 'pkgs'), { name: 'bbsd-a', version: '1.0', distribution: farm.suite });
    writeSourceTree(join(wc, 'pkgs', 'café'), { name: 'bbsd-c++', version: '0.1', distribution: farm.suite, architecture: 'all' });
    writeSourceTree(join(wc, 'pkgs', 'bbsd-a-1.0', 'debian', 'tests'), { name: 'bbsd-testdata', version: '9', distribution: farm.suite });
    await run('git', ['add', '-A'], wc);
    await run('git', ['commit', '-q', '-m', 'packages'], wc);
    const push = await spawnAsync('git', ['push', '-q', 'origin', 'main'], { cwd: wc });
    expect(push.status, push.stderr).toBe(0);
    let sha = await head(wc);

    const uriOf = async (name: string) => (await jobsOf(farm.t, name)).map((j) => [j.uri, j.vcs_id]);
    expect(await uriOf('bbsd-root')).toEqual([
      [anon, sha],
      [anon, sha],
    ]);
    expect(await uriOf('bbsd-a')).toEqual([
      [`${anon}#subdir=pkgs/bbsd-a-1.0`, sha],
      [`${anon}#subdir=pkgs/bbsd-a-1.0`, sha],
    ]);
    const c = await jobsOf(farm.t, 'bbsd-c++');
    expect(c).toHaveLength(1);
    expect(c[0]!.uri).toBe(`${anon}#subdir=pkgs/caf%C3%A9/bbsd-c%2B%2B-0.1`);
    expect(splitSourceUri(c[0]!.uri)).toEqual({ repository: anon, subdir: 'pkgs/café/bbsd-c++-0.1' });
    expect(await jobsOf(farm.t, 'bbsd-testdata')).toEqual([]);

    // A push that changes a packaged file but no changelog queues nothing (the hook's rule);
    // bumping one package's changelog queues only that package, at the pushed commit.
    const count = async () => (await jobsOf(farm.t)).filter((j) => j.name.startsWith('bbsd-')).length;
    const before = await count();
    writeFileSync(join(wc, 'pkgs', 'bbsd-a-1.0', 'README'), 'changed\n');
    await run('git', ['commit', '-q', '-a', '-m', 'readme'], wc);
    await run('git', ['push', '-q', 'origin', 'main'], wc);
    expect(await count()).toBe(before);
    bumpChangelog(join(wc, 'pkgs', 'café', 'bbsd-c++-0.1', 'debian', 'changelog'), '0.2', farm.suite);
    await run('git', ['commit', '-q', '-a', '-m', 'c++ 0.2'], wc);
    await run('git', ['push', '-q', 'origin', 'main'], wc);
    sha = await head(wc);
    expect(await count()).toBe(before + 1);
    expect((await jobsOf(farm.t, 'bbsd-c++')).at(-1)).toMatchObject({ version: '0.2', vcs_id: sha, uri: `${anon}#subdir=pkgs/caf%C3%A9/bbsd-c%2B%2B-0.1` });
  });
});

describe('GitHub push webhook', () => {
  interface Mono {
    wc: string;
    bare: string;
    uri: string;
  }

  /** A working copy and its bare repository, served over dumb HTTP; no package at the root. */
  async function monorepo(name: string, packages: Array<{ dir: string; name: string; version: string; distribution?: string }>): Promise<Mono> {
    const wc = join(farm.dir, `${name}-wc`);
    mkdirSync(wc);
    await run('git', ['init', '-q', '-b', 'main'], wc);
    for (const p of packages) {
      mkdirSync(join(wc, p.dir), { recursive: true });
      writeSourceTree(join(wc, p.dir), { name: p.name, version: p.version, distribution: p.distribution ?? farm.suite });
    }
    writeFileSync(join(wc, 'README'), 'packages\n');
    await run('git', ['add', '-A'], wc);
    await run('git', ['commit', '-q', '-m', 'packages'], wc);
    const bare = join(farm.dir, 'served', `${name}.git`);
    await run('git', ['clone', '-q', '--bare', wc, bare]);
    await run('git', ['update-server-info'], bare);
    return { wc, bare, uri: `${farm.served.url}/${name}.git` };
  }

  /** Commits everything changed in the working copy and publishes it; returns the new commit. */
  async function publish(m: Mono, message: string): Promise<string> {
    await run('git', ['add', '-A'], m.wc);
    await run('git', ['commit', '-q', '-m', message], m.wc);
    await run('git', ['push', '-q', m.bare, 'main'], m.wc);
    await run('git', ['update-server-info'], m.bare);
    return head(m.wc);
  }

  async function createRepo(body: Record<string, unknown>): Promise<{ webhookUrl: string; secret: string }> {
    const r = await farm.t.req('POST', '/api/v1/repositories', { json: { name: uniqueName('mono'), provider: 'github', ...body }, auth: true });
    expect(r.status, r.text).toBe(201);
    return r.json();
  }

  async function push(repo: { webhookUrl: string; secret: string }, m: Mono, before: string, after: string) {
    const text = JSON.stringify({ ref: 'refs/heads/main', before, after, repository: { clone_url: m.uri } });
    const r = await fetch(repo.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', repo.secret).update(text).digest('hex')}`,
      },
      body: text,
    });
    return { status: r.status, body: (await r.json()) as any };
  }

  const zero = '0'.repeat(40);
  const summary = (b: { queued: Array<{ package: string; version: string; subdir: string }> }) => b.queued.map((q) => `${q.package} ${q.version} ${q.subdir}`);

  it('queues every package of a new branch, then only the packages whose directories a push changed', async () => {
    const m = await monorepo('mono1', [
      { dir: 'pkgs', name: 'bbsw-a', version: '1.0' },
      { dir: 'pkgs/more', name: 'bbsw-b', version: '2.0' },
    ]);
    const repo = await createRepo({ cloneUrl: m.uri });
    const first = await head(m.wc);
    let r = await push(repo, m, zero, first);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(summary(r.body)).toEqual(['bbsw-a 1.0 pkgs/bbsw-a-1.0', 'bbsw-b 2.0 pkgs/more/bbsw-b-2.0']);
    for (const j of await jobsOf(farm.t, 'bbsw-a')) expect(j).toMatchObject({ method: 'git', uri: `${m.uri}#subdir=pkgs/bbsw-a-1.0`, vcs_id: first, status: 'Waiting' });
    for (const j of await jobsOf(farm.t, 'bbsw-b')) expect(j).toMatchObject({ uri: `${m.uri}#subdir=pkgs/more/bbsw-b-2.0`, vcs_id: first });

    // Any file of a package's directory counts, not only its changelog.
    writeFileSync(join(m.wc, 'pkgs', 'more', 'bbsw-b-2.0', 'README'), 'b changed\n');
    const second = await publish(m, 'b readme');
    r = await push(repo, m, first, second);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(summary(r.body)).toEqual(['bbsw-b 2.0 pkgs/more/bbsw-b-2.0']);
    expect((await jobsOf(farm.t, 'bbsw-a')).map((j) => j.vcs_id)).toEqual([first, first]);
    const b = await jobsOf(farm.t, 'bbsw-b');
    expect(b.filter((j) => j.vcs_id === second).map((j) => j.status)).toEqual(['Waiting', 'Waiting']);
    expect(b.filter((j) => j.vcs_id === first).map((j) => j.status)).toEqual(['Cancelled', 'Cancelled']);

    // A change outside every package queues nothing.
    writeFileSync(join(m.wc, 'README'), 'top-level only\n');
    const third = await publish(m, 'top readme');
    const counts = await farm.t.counts();
    r = await push(repo, m, second, third);
    expect(r).toMatchObject({ status: 200, body: { skipped: 'the push changed no package', queued: [] } });
    expect(await farm.t.counts()).toEqual(counts);

    // An earlier commit the server no longer has (a force push): what changed is unknown, so
    // every package is queued.
    r = await push(repo, m, 'f'.repeat(40), third);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(summary(r.body)).toEqual(['bbsw-a 1.0 pkgs/bbsw-a-1.0', 'bbsw-b 2.0 pkgs/more/bbsw-b-2.0']);
  });

  it('a repository registered with #subdir= follows that one package', async () => {
    const m = await monorepo('mono2', [
      { dir: 'pkgs', name: 'bbsw-c', version: '1.0' },
      { dir: 'pkgs', name: 'bbsw-d', version: '1.0' },
    ]);
    const repo = await createRepo({ cloneUrl: `${m.uri}#subdir=pkgs/bbsw-d-1.0` });
    const first = await head(m.wc);
    let r = await push(repo, m, zero, first);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(summary(r.body)).toEqual(['bbsw-d 1.0 pkgs/bbsw-d-1.0']);
    expect(await jobsOf(farm.t, 'bbsw-c')).toEqual([]);
    // A change to the other package only: nothing for this repository.
    writeFileSync(join(m.wc, 'pkgs', 'bbsw-c-1.0', 'README'), 'c changed\n');
    const second = await publish(m, 'c readme');
    r = await push(repo, m, first, second);
    expect(r).toMatchObject({ status: 200, body: { skipped: 'the push changed no package' } });

    const bad = await createRepo({ cloneUrl: `${m.uri}#subdir=../elsewhere` });
    r = await push(bad, m, zero, first);
    expect(r.status).toBe(422);
    expect(r.body.error).toMatch(/must not contain '\.\.' segments/);
  });

  it('queues nothing when one touched package cannot be read or queued; once fixed, a push queues them all', async () => {
    const m = await monorepo('mono3', [
      { dir: 'pkgs', name: 'bbsw-e', version: '1.0' },
      { dir: 'pkgs', name: 'bbsw-f', version: '1.0' },
    ]);
    const repo = await createRepo({ cloneUrl: m.uri });
    const first = await head(m.wc);
    const counts = await farm.t.counts();

    // One changelog that does not parse.
    writeFileSync(join(m.wc, 'pkgs', 'bbsw-f-1.0', 'debian', 'changelog'), 'bbsw-f: no header\n');
    const broken = await publish(m, 'broken f');
    let r = await push(repo, m, zero, broken);
    expect(r.status).toBe(422);
    expect(r.body.error).toContain('pkgs/bbsw-f-1.0/debian/changelog: line 1 is not a changelog entry header');

    // One package for a suite the controller does not know: refused before anything is queued.
    bumpChangelog(join(m.wc, 'pkgs', 'bbsw-e-1.0', 'debian', 'changelog'), '1.1', farm.suite);
    const f = writeSourceTree(join(farm.dir, 'mono3-f'), { name: 'bbsw-f', version: '1.1', distribution: 'no-such-suite' });
    await run('cp', [join(f.tree, 'debian', 'changelog'), join(m.wc, 'pkgs', 'bbsw-f-1.0', 'debian', 'changelog')]);
    const unknown = await publish(m, 'f for an unknown suite');
    r = await push(repo, m, first, unknown);
    expect(r.status).toBe(400);
    expect(r.body.error).toContain("unknown suite 'no-such-suite' (package bbsw-f)");
    expect(await farm.t.counts()).toEqual(counts);

    bumpChangelog(join(m.wc, 'pkgs', 'bbsw-f-1.0', 'debian', 'changelog'), '1.2', farm.suite);
    const fixed = await publish(m, 'f 1.2');
    r = await push(repo, m, first, fixed);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(summary(r.body)).toEqual(['bbsw-e 1.1 pkgs/bbsw-e-1.0', 'bbsw-f 1.2 pkgs/bbsw-f-1.0']);
  });
});

describe('reading one package of a repository (buildbox submit --git URL#subdir=DIR)', () => {
  it('reads the package the fragment names and refuses a fragment that leaves the repository', async () => {
    const wc = join(farm.dir, 'read-wc');
    mkdirSync(join(wc, 'a', 'b'), { recursive: true });
    writeSourceTree(join(wc, 'a', 'b'), { name: 'bbsd-read', version: '4.2', distribution: farm.suite, architecture: 'all' });
    await run('git', ['init', '-q', '-b', 'main'], wc);
    await run('git', ['add', '-A'], wc);
    await run('git', ['commit', '-q', '-m', 'one package'], wc);
    const bare = join(farm.dir, 'served', 'read.git');
    await run('git', ['clone', '-q', '--bare', wc, bare]);
    await run('git', ['update-server-info'], bare);
    const url = `${farm.served.url}/read.git`;

    const got = await readDebianAtRevision(`${url}#subdir=a/b/bbsd-read-4.2`, 'main');
    expect(got).toMatchObject({ source: 'bbsd-read', version: '4.2', distribution: farm.suite, commit: await head(wc) });
    await expect(readDebianAtRevision(url, 'main')).rejects.toThrow(/no debian\/changelog/);
    const err = await readDebianAtRevision(`${url}#subdir=a/../../etc`, 'main').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitReadError);
    expect((err as Error).message).toMatch(/must not contain '\.\.' segments/);
  });
});
