// POST /api/v1/repositories/:name/secret on a real controller (SQLite and PostgreSQL): an
// administrator gets a new webhook secret once; deliveries signed with the old one are refused
// from then on and the new one is accepted, for GitHub's HMAC and GitLab's token alike. Nobody
// else may rotate, and unknown or malformed names get clear 4xx answers.
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import { startTestController, type TestController } from '../helpers/controller';
import { DIALECTS, uniqueName } from '../helpers/db';
import { userToken } from '../cli/helpers';

const sign = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

async function githubPing(url: string, secret: string): Promise<number> {
  const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign(secret, body) },
    body,
  });
  await r.text();
  return r.status;
}

async function gitlabPing(url: string, token: string): Promise<number> {
  // GitLab has no ping event; any event other than a push is answered without queueing.
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Note Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': token },
    body: JSON.stringify({ object_kind: 'note' }),
  });
  await r.text();
  return r.status;
}

describe.each(DIALECTS)('repository secret rotation ($name)', ({ make }) => {
  let t: TestController;
  beforeAll(async () => {
    t = await startTestController(make);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function create(provider: 'github' | 'gitlab'): Promise<{ name: string; secret: string; webhookUrl: string }> {
    const name = uniqueName('rot');
    const r = await t.req('POST', '/api/v1/repositories', { json: { name, provider, cloneUrl: 'https://example.invalid/r.git' }, auth: true });
    expect(r.status, r.text).toBe(201);
    return r.json();
  }

  it('gives a GitHub repository a new secret once; the old one stops working', async () => {
    const c = await create('github');
    expect(await githubPing(c.webhookUrl, c.secret)).toBe(200);

    const r = await t.req('POST', `/api/v1/repositories/${c.name}/secret`, { auth: true });
    expect(r.status, r.text).toBe(200);
    const rotated = r.json<{ name: string; webhookUrl: string; secret: string }>();
    expect(rotated.name).toBe(c.name);
    expect(rotated.webhookUrl).toBe(c.webhookUrl);
    expect(rotated.secret).toMatch(/^[0-9a-f]{48}$/);
    expect(rotated.secret).not.toBe(c.secret);

    expect(await githubPing(c.webhookUrl, c.secret)).toBe(401);
    expect(await githubPing(c.webhookUrl, rotated.secret)).toBe(200);

    // Reading the repository back never shows a secret.
    const one = await t.req('GET', `/api/v1/repositories/${c.name}`, { auth: true });
    expect(one.status).toBe(200);
    expect(one.text).not.toContain(rotated.secret);
    expect(one.json()).not.toHaveProperty('secret');
  });

  it('rotates a GitLab secret token the same way', async () => {
    const c = await create('gitlab');
    expect(await gitlabPing(c.webhookUrl, c.secret)).toBe(200);
    const r = await t.req('POST', `/api/v1/repositories/${c.name}/secret`, { auth: true });
    expect(r.status, r.text).toBe(200);
    const { secret } = r.json<{ secret: string }>();
    expect(await gitlabPing(c.webhookUrl, c.secret)).toBe(401);
    expect(await gitlabPing(c.webhookUrl, secret)).toBe(200);
  });

  it('is for administrators only, and names what is wrong', async () => {
    const c = await create('github');
    const path = `/api/v1/repositories/${c.name}/secret`;

    const anonymous = await t.req('POST', path);
    expect(anonymous.status).toBe(401);
    const worker = await t.req('POST', path, { auth: { header: `Bearer ${await userToken(t.c, 'worker')}` } });
    expect(worker.status).toBe(403);

    const user = uniqueName('user');
    await t.kysely.insertInto('users').values({ name: user, password_hash: await hashPassword('user-pass'), is_admin: 0, created_at: nowText() }).execute();
    const plain = await t.req('POST', path, { auth: { user, password: 'user-pass' } });
    expect(plain.status).toBe(403);
    expect(plain.json().error).toMatch(/administrators/);

    // None of the refused calls changed the secret.
    expect(await githubPing(c.webhookUrl, c.secret)).toBe(200);

    const missing = await t.req('POST', `/api/v1/repositories/${uniqueName('nope')}/secret`, { auth: true });
    expect(missing.status).toBe(404);
    expect(missing.json().error).toMatch(/no repository named/);
    const bad = await t.req('POST', '/api/v1/repositories/-bad/secret', { auth: true });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatch(/^name: /);
  });
});
