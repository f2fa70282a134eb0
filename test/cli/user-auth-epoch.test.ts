// `buildbox user revoke` and `buildbox user passwd` run in a process of their own, straight on
// the database of a running controller that has the credential cached: the controller refuses
// it on the next request, not after its 30 s cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenCreated } from '../../src-shared/users-api';
import { DIALECTS, uniqueName } from '../helpers/db';
import { startTestController, waitFor, type Auth, type TestController } from '../helpers/controller';
import { cli, type CliResult } from './helpers';

const ok = (r: CliResult) => {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
};

describe.each(DIALECTS)('the CLI changes credentials under a running controller ($name)', ({ name: dialect, make }) => {
  let t: TestController;
  const me = (auth: Auth) => t.get('/api/v1/me', { auth });
  const newUser = async () => {
    const name = uniqueName('u');
    const password = `pw-${uniqueName('x')}`;
    expect((await t.req('POST', '/api/v1/users', { auth: true, json: { name, password } })).status).toBe(201);
    return { name, password, auth: { user: name, password } as Auth };
  };

  beforeAll(async () => {
    t = await startTestController(make);
    // On PostgreSQL the controller hears of the CLI's change by notification; wait until it listens.
    if (dialect === 'postgres') await waitFor('the auth listener', () => t.c.auth.listener?.live() === true, 10_000);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The controller's answer until it is `status`, for at most 2 s (SQLite: the first one). */
  const soon = async (auth: Auth, status: number) => {
    const end = Date.now() + (dialect === 'sqlite' ? 0 : 2000);
    for (;;) {
      const r = await me(auth);
      if (r.status === status || Date.now() > end) return r.status;
      await new Promise((res) => setTimeout(res, 20));
    }
  };

  it('user revoke: the token is refused at once', async () => {
    const u = await newUser();
    const r = await t.req('POST', '/api/v1/tokens', { auth: u.auth, json: { name: 'cli-revoked' } });
    expect(r.status, r.text).toBe(201);
    const tok = r.json<TokenCreated>();
    const bearer: Auth = { header: `Bearer ${tok.token}` };
    expect((await me(bearer)).status).toBe(200);
    expect((await me({ user: 'x', password: tok.token })).status).toBe(200);

    expect(ok(await cli(['user', 'revoke', String(tok.id), '--db', t.db.url])).stdout).toContain(`Revoked token ${tok.id}`);
    expect(await soon(bearer, 401)).toBe(401);
    expect(await soon({ user: 'x', password: tok.token }, 401)).toBe(401);
    expect((await me(u.auth)).status).toBe(200);
  });

  it('user passwd: the old password is refused at once, the new one works', async () => {
    const u = await newUser();
    expect((await me(u.auth)).status).toBe(200);
    ok(await cli(['user', 'passwd', u.name, '--password', 'set-by-the-cli', '--db', t.db.url]));
    expect(await soon(u.auth, 401)).toBe(401);
    expect((await me({ user: u.name, password: 'set-by-the-cli' })).status).toBe(200);
  });

  it('user add: a login refused a moment before the account existed works at once', async () => {
    const name = uniqueName('late');
    const auth: Auth = { user: name, password: 'made-by-the-cli' };
    expect((await me(auth)).status).toBe(401);
    ok(await cli(['user', 'add', name, '--password', 'made-by-the-cli', '--db', t.db.url]));
    expect(await soon(auth, 200)).toBe(200);
  });
});
