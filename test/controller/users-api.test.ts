// /api/v1/me, /api/v1/users and /api/v1/tokens over real HTTP on SQLite and PostgreSQL: accounts
// made over the API log in with Basic, their tokens work as Bearer and stop working on the very
// next request once revoked (the Authenticator caches successes), non-administrators are
// refused, the last administrator stays, and bad bodies get 400s that name the field with
// nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Me, TokenCreated, TokenInfo, UserCreated, UserInfo } from '../../src-shared/users-api';
import { hashPassword, verifyPassword } from '../../src-main/controller/auth/passwords';
import { DIALECTS, uniqueName } from '../helpers/db';
import { basic, startTestController, type Auth, type TestController } from '../helpers/controller';

const bearer = (token: string): Auth => ({ header: `Bearer ${token}` });

describe.each(DIALECTS)('users and tokens API ($name)', ({ make }) => {
  let t: TestController;

  const newUser = async (opts: { admin?: boolean } = {}) => {
    const name = uniqueName('u');
    const password = `pw-${uniqueName('x')}`;
    const r = await t.req('POST', '/api/v1/users', { auth: true, json: { name, password, admin: opts.admin ?? false } });
    expect(r.status, r.text).toBe(201);
    return { name, password, auth: { user: name, password } as Auth };
  };
  const me = async (auth?: Auth) => t.get('/api/v1/me', { auth });
  const makeToken = async (auth: Auth, body: Record<string, unknown>) => {
    const r = await t.req('POST', '/api/v1/tokens', { auth, json: body });
    expect(r.status, r.text).toBe(201);
    return r.json<TokenCreated>();
  };

  beforeAll(async () => {
    t = await startTestController(make);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('says who the caller is: anonymous, a user by password, a user by token, or refuses a bad credential', async () => {
    const anon = await me();
    expect(anon.status).toBe(200);
    expect(anon.json<Me>()).toEqual({ name: '', kind: 'anonymous', isAdmin: false });
    const admin = await me(true);
    expect(admin.status).toBe(200);
    expect(admin.json<Me>()).toEqual({ name: 'admin', kind: 'user', isAdmin: true });
    const wrong = await me({ user: 'admin', password: 'not-the-password' });
    expect(wrong.status).toBe(401);
    expect(wrong.json().error).toMatch(/invalid credentials/);
  });

  it('creates a user that logs in with Basic; a generated password is answered once and only its hash is stored', async () => {
    const name = uniqueName('gen');
    const r = await t.req('POST', '/api/v1/users', { auth: true, json: { name } });
    expect(r.status, r.text).toBe(201);
    const created = r.json<UserCreated>();
    expect(created).toMatchObject({ name, isAdmin: false, activeTokens: 0 });
    expect(created.password).toMatch(/^\S{12,}$/);
    const row = await t.kysely.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    expect(row.password_hash).not.toContain(created.password!);
    expect(await verifyPassword(created.password!, row.password_hash)).toBe(true);

    const who = await me({ user: name, password: created.password! });
    expect(who.json<Me>()).toEqual({ name, kind: 'user', isAdmin: false });

    // A given password is not echoed.
    const given = await newUser();
    const list = (await t.get('/api/v1/users', { auth: true })).json<{ items: UserInfo[] }>().items;
    expect(list.map((u) => u.name)).toEqual(expect.arrayContaining(['admin', name, given.name]));
    expect(list.find((u) => u.name === 'admin')?.isAdmin).toBe(true);
    expect(JSON.stringify(list)).not.toContain(given.password);

    const dup = await t.req('POST', '/api/v1/users', { auth: true, json: { name, password: 'another-password' } });
    expect(dup.status).toBe(409);
    expect(dup.json().error).toMatch(/already exists/);
  });

  it('a token works as Bearer (and as a Basic password), is listed without its secret, and is refused at once when revoked', async () => {
    const u = await newUser();
    const tok = await makeToken(u.auth, { name: 'laptop' });
    expect(tok).toMatchObject({ name: 'laptop', kind: 'user', user: u.name, revokedAt: null });
    expect(tok.token).toMatch(/^bbx_/);

    // Used (and so cached by the Authenticator) before the revocation.
    expect((await me(bearer(tok.token))).json<Me>()).toEqual({ name: u.name, kind: 'user', isAdmin: false, tokenId: tok.id });
    expect((await me({ user: 'anyone', password: tok.token })).status).toBe(200);

    const mine = await t.get('/api/v1/tokens', { auth: bearer(tok.token) });
    expect(mine.status, mine.text).toBe(200);
    const items = mine.json<{ items: TokenInfo[] }>().items;
    expect(items).toEqual([{ id: tok.id, name: 'laptop', kind: 'user', user: u.name, createdAt: tok.createdAt, revokedAt: null, current: true }]);
    expect(mine.text).not.toContain(tok.token);
    expect((await t.get('/api/v1/users', { auth: true })).json<{ items: UserInfo[] }>().items.find((x) => x.name === u.name)?.activeTokens).toBe(1);

    const del = await t.req('DELETE', `/api/v1/tokens/${tok.id}`, { auth: u.auth });
    expect(del.status, del.text).toBe(200);
    expect(del.json<TokenInfo>().revokedAt).not.toBeNull();

    const after = await me(bearer(tok.token));
    expect(after.status).toBe(401);
    expect((await t.get('/api/v1/tokens', { auth: bearer(tok.token) })).status).toBe(401);
    expect((await me({ user: 'anyone', password: tok.token })).status).toBe(401);
    // Revoking again answers the same revocation.
    const again = await t.req('DELETE', `/api/v1/tokens/${tok.id}`, { auth: u.auth });
    expect(again.status).toBe(200);
    expect(again.json<TokenInfo>().revokedAt).toBe(del.json<TokenInfo>().revokedAt);
  });

  it('users see their own tokens, administrators see every token including worker tokens', async () => {
    const a = await newUser();
    const b = await newUser();
    const ta = await makeToken(a.auth, { name: 'ci' });
    const tb = await makeToken(b.auth, { name: 'ci' });
    const worker = await makeToken(true, { name: uniqueName('wk'), kind: 'worker' });
    expect(worker).toMatchObject({ kind: 'worker', user: null });
    // Someone else's token for a user, made by an administrator.
    const forA = await makeToken(true, { name: 'deploy', user: a.name });
    expect(forA.user).toBe(a.name);

    const seenByA = (await t.get('/api/v1/tokens', { auth: a.auth })).json<{ items: TokenInfo[] }>().items.map((x) => x.id);
    expect(seenByA.sort()).toEqual([ta.id, forA.id].sort());
    const all = (await t.get('/api/v1/tokens', { auth: true })).json<{ items: TokenInfo[] }>().items.map((x) => x.id);
    expect(all).toEqual(expect.arrayContaining([ta.id, tb.id, worker.id, forA.id]));

    // The worker token is a worker: it may say who it is but not manage tokens.
    expect((await me(bearer(worker.token))).json<Me>()).toEqual({ name: worker.name, kind: 'worker', isAdmin: false, tokenId: worker.id });
    expect((await t.get('/api/v1/tokens', { auth: bearer(worker.token) })).status).toBe(403);

    // One active token per name and owner.
    const dup = await t.req('POST', '/api/v1/tokens', { auth: a.auth, json: { name: 'ci' } });
    expect(dup.status).toBe(409);
    expect(dup.json().error).toMatch(/name: .*already active/);

    // An administrator revokes a worker token; it stops working at once.
    expect((await me(bearer(worker.token))).status).toBe(200);
    expect((await t.req('DELETE', `/api/v1/tokens/${worker.id}`, { auth: true })).status).toBe(200);
    expect((await me(bearer(worker.token))).status).toBe(401);
  });

  it('refuses non-administrators (403) and callers without a credential (401)', async () => {
    const u = await newUser();
    const other = await newUser();
    const adminTok = await makeToken(true, { name: uniqueName('adm') });
    const otherTok = await makeToken(other.auth, { name: 'x' });
    const before = await t.count('users');
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['GET', '/api/v1/users', undefined, /administrators/],
      ['POST', '/api/v1/users', { name: uniqueName('n'), password: 'long-enough' }, /administrators/],
      ['DELETE', `/api/v1/users/${other.name}`, undefined, /administrators/],
      ['PATCH', `/api/v1/users/${other.name}`, { password: 'long-enough' }, /other users/],
      ['PATCH', `/api/v1/users/${u.name}`, { admin: true }, /admin: only administrators/],
      ['POST', '/api/v1/tokens', { name: 'w', kind: 'worker' }, /kind: only administrators/],
      ['POST', '/api/v1/tokens', { name: 'w', user: other.name }, /user: only administrators/],
      ['DELETE', `/api/v1/tokens/${adminTok.id}`, undefined, /tokens of others/],
      ['DELETE', `/api/v1/tokens/${otherTok.id}`, undefined, /tokens of others/],
    ];
    for (const [method, path, json, msg] of cases) {
      const r = await t.req(method, path, { auth: u.auth, json });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(403);
      expect(r.json().error, `${method} ${path}`).toMatch(msg);
    }
    for (const [method, path] of [
      ['GET', '/api/v1/users'],
      ['GET', '/api/v1/tokens'],
      ['POST', '/api/v1/tokens'],
      ['DELETE', `/api/v1/tokens/${otherTok.id}`],
    ]) {
      const r = await t.req(method!, path!, { json: method === 'POST' ? { name: 'x' } : undefined });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect(await t.count('users')).toBe(before);
    expect((await me(bearer(adminTok.token))).status).toBe(200);
    expect((await me(bearer(otherTok.token))).status).toBe(200);
  });

  it('a user changes its own password; the old one is refused at once; an administrator grants admin', async () => {
    const u = await newUser();
    expect((await me(u.auth)).status).toBe(200); // cached from here on
    const r = await t.req('PATCH', `/api/v1/users/${u.name}`, { auth: u.auth, json: { password: 'a-new-password' } });
    expect(r.status, r.text).toBe(200);
    expect(r.json<UserInfo>()).toMatchObject({ name: u.name, isAdmin: false });
    expect((await me(u.auth)).status).toBe(401);
    const fresh = { user: u.name, password: 'a-new-password' };
    expect((await me(fresh)).status).toBe(200);

    expect((await t.get('/api/v1/users', { auth: fresh })).status).toBe(403);
    const grant = await t.req('PATCH', `/api/v1/users/${u.name}`, { auth: true, json: { admin: true } });
    expect(grant.json<UserInfo>().isAdmin).toBe(true);
    expect((await t.get('/api/v1/users', { auth: fresh })).status).toBe(200);
    expect((await t.req('PATCH', `/api/v1/users/${uniqueName('nobody')}`, { auth: true, json: { admin: true } })).status).toBe(404);
  });

  it('a check under way while a password changes does not put the old password back in the cache', async () => {
    const u = await newUser();
    const header = basic(u.name, u.password);
    const newHash = await hashPassword('changed-password');
    // The check reads the old hash, then spends its scrypt time; the change lands meanwhile,
    // as PATCH makes it: the row updated, then the cache cleared.
    const underWay = t.c.auth.authenticate(header);
    await t.kysely.updateTable('users').set({ password_hash: newHash }).where('name', '=', u.name).execute();
    t.c.auth.invalidate();
    await underWay;
    expect(await t.c.auth.authenticate(header)).toBeNull();
    expect((await me(u.auth)).status).toBe(401);
  });

  it('deleting a user takes its tokens with it; nobody deletes their own account', async () => {
    const u = await newUser();
    const tok = await makeToken(u.auth, { name: 'soon-gone' });
    expect((await me(bearer(tok.token))).status).toBe(200);
    const r = await t.req('DELETE', `/api/v1/users/${u.name}`, { auth: true });
    expect(r.status, r.text).toBe(204);
    expect((await me(bearer(tok.token))).status).toBe(401);
    expect((await me(u.auth)).status).toBe(401);
    expect(await t.kysely.selectFrom('tokens').select('id').where('id', '=', tok.id).execute()).toEqual([]);
    expect((await t.req('DELETE', `/api/v1/users/${u.name}`, { auth: true })).status).toBe(404);

    const self = await t.req('DELETE', '/api/v1/users/admin', { auth: true });
    expect(self.status).toBe(409);
    expect(self.json().error).toMatch(/your own account/);
  });

  it('keeps the last administrator (409), on a controller of its own', async () => {
    const solo = await startTestController(make);
    try {
      const demote = await solo.req('PATCH', '/api/v1/users/admin', { auth: true, json: { admin: false } });
      expect(demote.status).toBe(409);
      expect(demote.json().error).toMatch(/last administrator/);
      const second = uniqueName('boss');
      expect((await solo.req('POST', '/api/v1/users', { auth: true, json: { name: second, password: 'second-password', admin: true } })).status).toBe(201);
      // With another administrator, the first may step down; the second then is the last.
      expect((await solo.req('PATCH', '/api/v1/users/admin', { auth: true, json: { admin: false } })).status).toBe(200);
      const boss = { user: second, password: 'second-password' };
      const last = await solo.req('PATCH', `/api/v1/users/${second}`, { auth: boss, json: { admin: false } });
      expect(last.status).toBe(409);
      expect((await solo.req('DELETE', `/api/v1/users/${second}`, { auth: boss })).status).toBe(409);
      const admins = await solo.kysely.selectFrom('users').select('name').where('is_admin', '=', 1).execute();
      expect(admins.map((a) => a.name)).toEqual([second]);
    } finally {
      await solo.close();
    }
  });

  it('answers bad bodies and parameters with 400s naming the field, writing nothing', async () => {
    const users = await t.count('users');
    const tokens = await t.count('tokens');
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['POST', '/api/v1/users', {}, /field 'name': required/],
      ['POST', '/api/v1/users', { name: 'a:b' }, /field 'name': must start with a letter/],
      ['POST', '/api/v1/users', { name: '' }, /field 'name': must not be empty/],
      ['POST', '/api/v1/users', { name: uniqueName('s'), password: 'short' }, /field 'password': must be at least 8/],
      ['POST', '/api/v1/users', { name: uniqueName('s'), admin: 'yes' }, /field 'admin': must be true or false/],
      ['POST', '/api/v1/users', { name: uniqueName('s'), role: 'root' }, /unknown field 'role'/],
      ['POST', '/api/v1/users', 'not json', /./],
      ['PATCH', '/api/v1/users/admin', {}, /give password or admin/],
      ['PATCH', '/api/v1/users/admin', { password: 'x' }, /field 'password'/],
      ['PATCH', `/api/v1/users/${encodeURIComponent('a:b')}`, { admin: true }, /path parameter 'name'/],
      ['POST', '/api/v1/tokens', {}, /field 'name': required/],
      ['POST', '/api/v1/tokens', { name: 'has space' }, /field 'name'/],
      ['POST', '/api/v1/tokens', { name: 'ok', kind: 'root' }, /field 'kind': must be one of user, worker/],
      ['POST', '/api/v1/tokens', { name: 'ok', kind: 'worker', user: 'admin' }, /field 'user': worker tokens/],
      ['DELETE', '/api/v1/tokens/abc', undefined, /path parameter 'id'/],
    ];
    for (const [method, path, json, msg] of cases) {
      const r = typeof json === 'string' ? await t.req(method, path, { auth: true, raw: json, contentType: 'application/json' }) : await t.req(method, path, { auth: true, json });
      expect(r.status, `${method} ${path} ${JSON.stringify(json)}: ${r.text}`).toBe(400);
      expect(r.json().error, `${method} ${path} ${JSON.stringify(json)}`).toMatch(msg);
    }
    const missing = await t.req('DELETE', '/api/v1/tokens/999999', { auth: true });
    expect(missing.status).toBe(404);
    const noUser = await t.req('POST', '/api/v1/tokens', { auth: true, json: { name: 'x', user: uniqueName('ghost') } });
    expect(noUser.status).toBe(404);
    expect(noUser.json().error).toMatch(/user: no user named/);
    expect(await t.count('users')).toBe(users);
    expect(await t.count('tokens')).toBe(tokens);
    // The refused requests left the admin credential working.
    expect((await me(true)).json<Me>().isAdmin).toBe(true);
  });
});
