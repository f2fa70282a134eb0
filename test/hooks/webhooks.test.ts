// GitHub and GitLab push webhooks on a real controller: repositories with per-repository
// secrets (/api/v1/repositories), signed pushes that queue the package at the pushed commit read
// from a git repository served over local HTTP, and refusals: unsigned or wrongly signed
// deliveries, missing fields, unparsable changelogs, replays. Nothing is queued twice.
import { createHmac, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, tempDir, uniqueName } from '../helpers/db';
import { request } from '../helpers/controller';
import { SourceServer, type ServedGit } from '../worker-e2e/sources';
import { userToken } from '../cli/helpers';
import { jobsOf, run, startHookFarm, type HookFarm } from './helpers';

const tmp = tempDir('bb-webhooks-');
afterAll(() => tmp.cleanup());

interface Created {
  name: string;
  secret: string;
  webhookUrl: string;
  cloneUrl: string;
}

const sign = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

function githubPush(url: string, body: unknown, h: { secret?: string | null; delivery?: string | null; event?: string; signature?: string } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'x-github-event': h.event ?? 'push' };
  if (h.delivery !== null) headers['x-github-delivery'] = h.delivery ?? randomUUID();
  if (h.signature) headers['x-hub-signature-256'] = h.signature;
  else if (h.secret) headers['x-hub-signature-256'] = sign(h.secret, text);
  return fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: text }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
}

const pushPayload = (g: { uri: string }, after: string, ref = 'refs/heads/main') => ({
  ref,
  before: '0'.repeat(40),
  after,
  repository: { full_name: 'tests/x', clone_url: g.uri },
  commits: [{ id: after, added: [], modified: ['debian/changelog'], removed: [] }],
});

// The same deliveries against a controller on SQLite and one on PostgreSQL (a schema of its own).
describe.each(DIALECTS)('webhooks ($name)', ({ name: dialect, make }) => {
  let farm: HookFarm;
  let sources: SourceServer;

  beforeAll(async () => {
    farm = await startHookFarm(make);
    sources = await SourceServer.start(join(tmp.dir, `served-${dialect}`));
  });
  afterAll(async () => {
    await sources?.close();
    await farm?.t.close();
  });

  async function createRepo(body: Record<string, unknown>): Promise<Created> {
    const r = await farm.t.req('POST', '/api/v1/repositories', { json: body, auth: true });
    expect(r.status, r.text).toBe(201);
    return r.json<Created>();
  }

  function served(name: string, version: string): ServedGit {
    return sources.git({ name, version, distribution: farm.suite });
  }

  describe('repositories', () => {
    it('creates a repository with a secret shown once, lists it without the secret, and deletes it; admins only', async () => {
      const name = uniqueName('repo');
      let r = await farm.t.req('POST', '/api/v1/repositories', { json: { name, provider: 'github', cloneUrl: 'https://example.invalid/r.git' } });
      expect(r.status).toBe(401);
      const workerToken = await userToken(farm.t.c, 'worker');
      r = await farm.t.req('POST', '/api/v1/repositories', { json: { name, provider: 'github', cloneUrl: 'https://example.invalid/r.git' }, auth: { header: `Bearer ${workerToken}` } });
      expect(r.status).toBe(403);

      const c = await createRepo({ name, provider: 'github', cloneUrl: 'https://example.invalid/r.git', branch: 'main' });
      expect(c.secret).toMatch(/^[0-9a-f]{48}$/);
      expect(c.webhookUrl).toBe(`${farm.t.url}/api/v1/hooks/github?repository=${name}`);
      r = await farm.t.req('GET', '/api/v1/repositories', { auth: true });
      expect(r.status).toBe(200);
      const listed = r.json().items.find((x: { name: string }) => x.name === name);
      expect(listed).toMatchObject({ name, provider: 'github', branch: 'main', webhookUrl: c.webhookUrl });
      expect(JSON.stringify(r.json())).not.toContain(c.secret);

      r = await farm.t.req('POST', '/api/v1/repositories', { json: { name, provider: 'github', cloneUrl: 'https://example.invalid/r.git' }, auth: true });
      expect(r.status).toBe(409);
      for (const [body, field] of [
        [{ provider: 'github', cloneUrl: 'https://e.invalid/r.git' }, 'name'],
        [{ name: 'x1', provider: 'bitbucket', cloneUrl: 'https://e.invalid/r.git' }, 'provider'],
        [{ name: 'x2', provider: 'gitlab', cloneUrl: '-uhoh' }, 'cloneUrl'],
        [{ name: 'x3', provider: 'gitlab', cloneUrl: 'https://e.invalid/r.git', colour: 'red' }, 'colour'],
      ] as const) {
        r = await farm.t.req('POST', '/api/v1/repositories', { json: body, auth: true });
        expect(r.status, r.text).toBe(400);
        expect(r.json().error).toContain(field);
      }

      r = await farm.t.req('DELETE', `/api/v1/repositories/${name}`, { auth: true });
      expect(r.status).toBe(204);
      r = await farm.t.req('DELETE', `/api/v1/repositories/${name}`, { auth: true });
      expect(r.status).toBe(404);
      expect((await githubPush(c.webhookUrl, pushPayload({ uri: c.cloneUrl }, 'a'.repeat(40)), { secret: c.secret })).status).toBe(404);
    });
  });

  describe('GitHub push webhook', () => {
    it('queues the package at the pushed commit once; a replayed delivery queues nothing', async () => {
      const g = served('bbhook-gh', '1.4');
      const repo = await createRepo({ name: uniqueName('gh'), provider: 'github', cloneUrl: g.uri });
      const ping = await githubPush(repo.webhookUrl, { zen: 'hi', hook_id: 1 }, { secret: repo.secret, event: 'ping' });
      expect(ping).toMatchObject({ status: 200, body: { skipped: 'ping' } });

      const delivery = randomUUID();
      // g.commit is the packaged commit, not the branch head: the pushed commit is what counts.
      const r = await githubPush(repo.webhookUrl, pushPayload(g, g.commit), { secret: repo.secret, delivery });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toMatchObject({ duplicate: false, queued: [{ package: 'bbhook-gh', version: '1.4', suite: farm.suite, commit: g.commit }] });
      const jobs = await jobsOf(farm.t, 'bbhook-gh');
      expect(jobs.map((j) => j.id).sort()).toEqual([...r.body.queued[0].jobIds].sort());
      expect(jobs.map((j) => j.arch).sort()).toEqual(['amd64', 'arm64']);
      for (const j of jobs) expect(j).toMatchObject({ method: 'git', uri: g.uri, vcs_id: g.commit, version: '1.4', status: 'Waiting' });

      const again = await githubPush(repo.webhookUrl, pushPayload(g, g.commit), { secret: repo.secret, delivery });
      expect(again).toMatchObject({ status: 200, body: { duplicate: true, queued: [] } });
      expect(await jobsOf(farm.t, 'bbhook-gh')).toHaveLength(2);

      // Without ?repository= the payload's clone URL finds the repository.
      const plain = repo.webhookUrl.split('?')[0]!;
      const head = (await run('git', ['--git-dir', g.bare, 'rev-parse', 'main'])).trim();
      const byUrl = await githubPush(plain, pushPayload(g, head), { secret: repo.secret });
      expect(byUrl.status, JSON.stringify(byUrl.body)).toBe(201);
      expect(byUrl.body.queued[0].commit).toBe(head);
      // The new commit supersedes the unfinished jobs of the old one.
      const after = await jobsOf(farm.t, 'bbhook-gh');
      expect(after.filter((j) => j.vcs_id === head).map((j) => j.status)).toEqual(['Waiting', 'Waiting']);
      expect(after.filter((j) => j.vcs_id === g.commit).map((j) => j.status)).toEqual(['Cancelled', 'Cancelled']);
    });

    it('two copies of a new delivery at once: one queues, the other is a duplicate', async () => {
      const g = served('bbhook-race', '1.0');
      const repo = await createRepo({ name: uniqueName('race'), provider: 'github', cloneUrl: g.uri });
      const delivery = randomUUID();
      const [x, y] = await Promise.all([0, 1].map(() => githubPush(repo.webhookUrl, pushPayload(g, g.commit), { secret: repo.secret, delivery })));
      expect([x!.status, y!.status].sort(), JSON.stringify([x!.body, y!.body])).toEqual([200, 201]);
      expect([x!.body.duplicate, y!.body.duplicate].sort()).toEqual([false, true]);
      expect(await jobsOf(farm.t, 'bbhook-race')).toHaveLength(2);
    });

    it('refuses unsigned and wrongly signed deliveries with 401 and creates nothing', async () => {
      const g = served('bbhook-sig', '1.0');
      const repo = await createRepo({ name: uniqueName('sig'), provider: 'github', cloneUrl: g.uri });
      const other = await createRepo({ name: uniqueName('sig2'), provider: 'github', cloneUrl: 'https://example.invalid/other.git' });
      const body = pushPayload(g, g.commit);
      const text = JSON.stringify(body);
      const before = await farm.t.counts();
      let r = await githubPush(repo.webhookUrl, body, {});
      expect(r.status).toBe(401);
      expect(r.body.error).toMatch(/X-Hub-Signature-256: missing/);
      r = await githubPush(repo.webhookUrl, body, { secret: other.secret });
      expect(r.status).toBe(401);
      expect(r.body.error).toMatch(/does not match/);
      // A valid signature of a different body: the payload was changed on the way.
      r = await githubPush(repo.webhookUrl, text.replace('refs/heads/main', 'refs/heads/evil'), { signature: sign(repo.secret, text) });
      expect(r.status).toBe(401);
      r = await githubPush(repo.webhookUrl, body, { signature: 'sha256=nothex' });
      expect(r.status).toBe(401);
      expect(await farm.t.counts()).toEqual(before);
      expect(await jobsOf(farm.t, 'bbhook-sig')).toEqual([]);
    });

    it('answers bad input with a 4xx naming the problem: fields, headers, JSON, unknown commits, unparsable changelogs', async () => {
      const g = served('bbhook-bad', '1.0');
      const repo = await createRepo({ name: uniqueName('bad'), provider: 'github', cloneUrl: g.uri });
      const before = await farm.t.counts();
      const s = { secret: repo.secret };
      const cases: Array<[Promise<{ status: number; body: any }>, number, RegExp]> = [
        [githubPush(repo.webhookUrl, { ref: 'refs/heads/main', repository: { clone_url: g.uri } }, s), 400, /field 'after': required/],
        [githubPush(repo.webhookUrl, { after: g.commit, repository: { clone_url: g.uri } }, s), 400, /field 'ref': required/],
        [githubPush(repo.webhookUrl, { ref: 'refs/heads/main', after: 'HEAD' }, s), 400, /field 'after': must be a full commit id/],
        [githubPush(repo.webhookUrl, '{"ref": ', s), 400, /payload: not valid JSON/],
        [githubPush(repo.webhookUrl, pushPayload(g, g.commit), { ...s, delivery: null }), 400, /x-github-delivery: missing/],
        [githubPush(repo.webhookUrl, pushPayload(g, 'b'.repeat(40)), s), 422, /no commit b{40}|git fetch/],
        [githubPush(`${farm.t.url}/api/v1/hooks/github?repository=nope`, pushPayload(g, g.commit), s), 404, /no repository named 'nope'/],
        [githubPush(repo.webhookUrl.replace('/github?', '/gitlab?'), pushPayload(g, g.commit), s), 400, /set up for github webhooks, not gitlab/],
      ];
      for (const [p, status, re] of cases) {
        const r = await p;
        expect(r.status, JSON.stringify(r.body)).toBe(status);
        expect(r.body.error).toMatch(re);
      }
      // A commit whose changelog does not parse.
      writeFileSync(join(g.tree, 'debian', 'changelog'), 'bbhook-bad: version one\n');
      await run('git', ['commit', '-q', '-a', '-m', 'broken changelog'], g.tree);
      await run('git', ['push', '-q', g.bare, 'main'], g.tree);
      await run('git', ['update-server-info'], g.bare);
      const broken = (await run('git', ['--git-dir', g.bare, 'rev-parse', 'main'])).trim();
      const delivery = randomUUID();
      let r = await githubPush(repo.webhookUrl, pushPayload(g, broken), { ...s, delivery });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatch(/debian\/changelog: line 1 is not a changelog entry header/);
      // A push to a branch or tag that is not followed, and a deleted branch, queue nothing either.
      r = await githubPush(repo.webhookUrl, pushPayload(g, g.commit, 'refs/tags/v1'), s);
      expect(r).toMatchObject({ status: 200, body: { skipped: "'refs/tags/v1' is not a branch" } });
      r = await githubPush(repo.webhookUrl, pushPayload(g, '0'.repeat(40)), s);
      expect(r).toMatchObject({ status: 200, body: { skipped: 'branch deleted' } });
      expect(await farm.t.counts()).toEqual(before);

      // The refused delivery was not remembered: once the changelog is fixed, its redelivery works.
      const followed = await createRepo({ name: uniqueName('rel'), provider: 'github', cloneUrl: g.uri, branch: 'release' });
      r = await githubPush(followed.webhookUrl, pushPayload(g, g.commit), { secret: followed.secret });
      expect(r).toMatchObject({ status: 200, body: { skipped: "branch 'main' is not followed (only 'release')" } });
      r = await githubPush(repo.webhookUrl, pushPayload(g, g.commit), { ...s, delivery });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(await jobsOf(farm.t, 'bbhook-bad')).toHaveLength(2);
    });
  });

  describe('GitLab push webhook', () => {
    const gitlabPush = (url: string, body: unknown, h: { token?: string; uuid?: string; event?: string } = {}) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-gitlab-event': h.event ?? 'Push Hook',
          ...(h.uuid ? { 'x-gitlab-event-uuid': h.uuid } : {}),
          ...(h.token ? { 'x-gitlab-token': h.token } : {}),
        },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

    it('checks the token, queues the pushed commit found by the project URL, and ignores replays', async () => {
      const g = served('bbhook-gl', '2.2');
      const repo = await createRepo({ name: uniqueName('gl'), provider: 'gitlab', cloneUrl: g.uri, suite: farm.suite });
      const url = `${farm.t.url}/api/v1/hooks/gitlab`;
      const body = { object_kind: 'push', ref: 'refs/heads/main', after: g.commit, checkout_sha: g.commit, project: { git_http_url: `${g.uri}`, path_with_namespace: 't/x' }, commits: [] };
      const uuid = randomUUID();
      let r = await gitlabPush(url, body, { uuid });
      expect(r.status).toBe(401);
      expect(r.body.error).toMatch(/X-Gitlab-Token: missing/);
      r = await gitlabPush(url, body, { uuid, token: 'wrong' });
      expect(r.status).toBe(401);
      expect(await jobsOf(farm.t, 'bbhook-gl')).toEqual([]);
      r = await gitlabPush(url, body, { token: repo.secret });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/x-gitlab-event-uuid: missing/);

      r = await gitlabPush(url, body, { uuid, token: repo.secret });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.queued[0]).toMatchObject({ package: 'bbhook-gl', version: '2.2', commit: g.commit });
      r = await gitlabPush(url, body, { uuid, token: repo.secret });
      expect(r).toMatchObject({ status: 200, body: { duplicate: true, queued: [] } });
      // Two replays at once: still one set of jobs.
      const [x, y] = await Promise.all([gitlabPush(url, body, { uuid, token: repo.secret }), gitlabPush(url, body, { uuid, token: repo.secret })]);
      expect([x.body.duplicate, y.body.duplicate]).toEqual([true, true]);
      const jobs = await jobsOf(farm.t, 'bbhook-gl');
      expect(jobs).toHaveLength(2);
      for (const j of jobs) expect(j).toMatchObject({ method: 'git', uri: g.uri, vcs_id: g.commit });

      r = await gitlabPush(url, body, { uuid: randomUUID(), token: repo.secret, event: 'Merge Request Hook' });
      expect(r).toMatchObject({ status: 200, body: { skipped: "event 'Merge Request Hook' is not a push" } });
      expect(await jobsOf(farm.t, 'bbhook-gl')).toHaveLength(2);
    });
  });
});
