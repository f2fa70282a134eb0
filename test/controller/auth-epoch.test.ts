// Credential changes count on every controller of a database at once, not after the 30 s the
// Authenticator caches a check: two controllers share one SQLite file or PostgreSQL schema, a
// credential is used (and so cached) on B, changed through A's API or by a bare SQL session,
// and B refuses it within a couple of seconds. On PostgreSQL B hears of it by LISTEN; its
// listening connection, killed on the server, comes back, and a change made while it was gone
// still counts; one that hangs without an error stops being trusted within its lease. A
// listening controller answers cache hits without a database read.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import pg from 'pg';
import type { Me, TokenCreated } from '../../src-shared/users-api';
import { startController, type Controller } from '../../src-main/controller/controller';
import { Authenticator } from '../../src-main/controller/auth/auth';
import { AuthChangeListener } from '../../src-main/controller/auth/epoch';
import { openDatabase } from '../../src-main/controller/db/connect';
import { createLogger } from '../../src-main/controller/logger';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { DIALECTS, PG_BASE_URL, pgTestDb, tempDir, uniqueName } from '../helpers/db';
import { ADMIN_PASSWORD, request, startTestController, waitFor, type Auth, type TestController } from '../helpers/controller';

const bearer = (token: string): Auth => ({ header: `Bearer ${token}` });

/** Far below the cache's 30 s: what "at once" may take, notification delivery included. */
const AT_ONCE_MS = 2000;

describe.each(DIALECTS)('credential changes across controllers ($name)', ({ name: dialect, make }) => {
  let a: TestController;
  let b: Controller;
  let bData: { cleanup(): void };

  const onB = (path: string, auth: Auth) => request(b.url, 'GET', path, { auth });
  const newUser = async (admin = false) => {
    const name = uniqueName('u');
    const password = `pw-${uniqueName('x')}`;
    const r = await a.req('POST', '/api/v1/users', { auth: true, json: { name, password, admin } });
    expect(r.status, r.text).toBe(201);
    return { name, password, auth: { user: name, password } as Auth };
  };
  const newToken = async (auth: Auth, name = uniqueName('t')) => {
    const r = await a.req('POST', '/api/v1/tokens', { auth, json: { name } });
    expect(r.status, r.text).toBe(201);
    return r.json<TokenCreated>();
  };
  /** B's answer to /api/v1/me until `ok` holds; fails after AT_ONCE_MS. */
  const bSoon = async (auth: Auth, ok: (status: number, me: Me | null) => boolean) => {
    const start = Date.now();
    let last = '';
    for (;;) {
      const r = await onB('/api/v1/me', auth);
      last = `${r.status} ${r.text}`;
      if (ok(r.status, r.status === 200 ? r.json<Me>() : null)) return Date.now() - start;
      if (Date.now() - start > AT_ONCE_MS) throw new Error(`B still answers ${last} after ${AT_ONCE_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const refusedOnB = (auth: Auth) => bSoon(auth, (s) => s === 401);
  const listening = () => waitFor("B's auth listener", () => b.auth.listener?.live() === true, 10_000);

  beforeAll(async () => {
    a = await startTestController(make);
    const data = tempDir('buildbox-ctl-b-');
    bData = data;
    b = await startController({ db: a.db.url, amqp: null, port: 0, dataDir: data.dir, adminPassword: ADMIN_PASSWORD, logLevel: 'silent', lostRequestCheckMs: 0 });
    if (dialect === 'postgres') await listening();
  });
  afterAll(async () => {
    await b?.close();
    bData?.cleanup();
    await a?.close();
  });

  it(`${dialect === 'postgres' ? 'listens' : 'has no listener'} for changes`, () => {
    expect(b.auth.listener === null).toBe(dialect === 'sqlite');
  });

  it('a token revoked through A is refused by B at once', async () => {
    const u = await newUser();
    const tok = await newToken(u.auth);
    expect((await onB('/api/v1/me', bearer(tok.token))).status).toBe(200);
    expect((await onB('/api/v1/me', { user: 'anyone', password: tok.token })).status).toBe(200);
    expect((await a.req('DELETE', `/api/v1/tokens/${tok.id}`, { auth: u.auth })).status).toBe(200);
    await refusedOnB(bearer(tok.token));
    await refusedOnB({ user: 'anyone', password: tok.token });
    // The user's password is untouched and still works on B.
    expect((await onB('/api/v1/me', u.auth)).status).toBe(200);
  });

  it("a password changed through A: B refuses the old one and takes the new one at once", async () => {
    const u = await newUser();
    expect((await onB('/api/v1/me', u.auth)).status).toBe(200);
    expect((await a.req('PATCH', `/api/v1/users/${u.name}`, { auth: u.auth, json: { password: 'the-new-password' } })).status).toBe(200);
    await refusedOnB(u.auth);
    expect((await onB('/api/v1/me', { user: u.name, password: 'the-new-password' })).status).toBe(200);
  });

  it('a user demoted through A is no administrator on B at once; deleted, neither its password nor its token works', async () => {
    const u = await newUser(true);
    const tok = await newToken(u.auth);
    expect((await onB('/api/v1/users', u.auth)).status).toBe(200);
    expect((await onB('/api/v1/me', bearer(tok.token))).json<Me>().isAdmin).toBe(true);
    expect((await a.req('PATCH', `/api/v1/users/${u.name}`, { auth: true, json: { admin: false } })).status).toBe(200);
    await bSoon(bearer(tok.token), (s, me) => s === 200 && me?.isAdmin === false);
    expect((await onB('/api/v1/users', u.auth)).status).toBe(403);

    expect((await a.req('DELETE', `/api/v1/users/${u.name}`, { auth: true })).status).toBe(204);
    await refusedOnB(u.auth);
    await refusedOnB(bearer(tok.token));
  });

  it('a login B refused before the account existed works as soon as A creates it', async () => {
    const name = uniqueName('late');
    const auth = { user: name, password: 'made-a-moment-later' };
    expect((await onB('/api/v1/me', auth)).status).toBe(401);
    expect((await a.req('POST', '/api/v1/users', { auth: true, json: { name, password: auth.password } })).status).toBe(201);
    await bSoon(auth, (s) => s === 200);
  });

  it('a revocation written straight to the database, past every route, counts too (on PostgreSQL from a session without the schema on its search path)', async () => {
    const u = await newUser();
    const tok = await newToken(u.auth);
    expect((await onB('/api/v1/me', bearer(tok.token))).status).toBe(200);
    if (dialect === 'postgres') {
      const schema = new URL(a.db.url).searchParams.get('schema')!;
      const c = new pg.Client({ connectionString: PG_BASE_URL });
      await c.connect();
      try {
        await c.query(`UPDATE "${schema}".tokens SET revoked_at = now()::text WHERE id = $1`, [tok.id]);
      } finally {
        await c.end();
      }
    } else {
      // Through A's own connection, bypassing every route: only the trigger can tell B.
      await a.kysely.updateTable('tokens').set({ revoked_at: '2000-01-01 00:00:00.000000' }).where('id', '=', tok.id).execute();
    }
    await refusedOnB(bearer(tok.token));
  });

  it.runIf(dialect === 'postgres')('a killed listening connection comes back; a change made while it was gone counts', async () => {
    const u = await newUser();
    const during = await newToken(u.auth);
    const after = await newToken(u.auth);
    expect((await onB('/api/v1/me', bearer(during.token))).status).toBe(200);
    expect((await onB('/api/v1/me', bearer(after.token))).status).toBe(200);

    const killed = b.auth.listener!.backendPid!;
    expect(killed).toBeGreaterThan(0);
    const c = new pg.Client({ connectionString: PG_BASE_URL });
    await c.connect();
    try {
      expect((await c.query('SELECT pg_terminate_backend($1) AS ok', [killed])).rows[0].ok).toBe(true);
    } finally {
      await c.end();
    }
    // Revoked before B can have listened again: nobody notifies B of this one.
    expect((await a.req('DELETE', `/api/v1/tokens/${during.id}`, { auth: u.auth })).status).toBe(200);
    await refusedOnB(bearer(during.token));
    expect((await onB('/api/v1/me', bearer(after.token))).status).toBe(200);

    await waitFor('a new listening connection', () => {
      const pid = b.auth.listener!.backendPid;
      return pid !== null && pid !== killed && b.auth.listener!.live();
    }, 10_000);
    // Cached again while listening, so only the notification can make B refuse it.
    expect((await onB('/api/v1/me', bearer(after.token))).status).toBe(200);
    expect(b.auth.listener!.live()).toBe(true);
    expect((await a.req('DELETE', `/api/v1/tokens/${after.id}`, { auth: u.auth })).status).toBe(200);
    await refusedOnB(bearer(after.token));
  });

  it.runIf(dialect === 'postgres')('stops listening when the controller closes', async () => {
    const data = tempDir('buildbox-ctl-c-');
    const c = await startController({ db: a.db.url, amqp: null, port: 0, dataDir: data.dir, adminPassword: ADMIN_PASSWORD, logLevel: 'silent', lostRequestCheckMs: 0 });
    try {
      await waitFor("C's auth listener", () => c.auth.listener?.live() === true, 10_000);
      const pid = c.auth.listener!.backendPid!;
      await c.close();
      const q = new pg.Client({ connectionString: PG_BASE_URL });
      await q.connect();
      try {
        await waitFor('the listening connection to end', async () => (await q.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, 5000);
      } finally {
        await q.end();
      }
      expect(c.auth.listener!.backendPid).toBeNull();
    } finally {
      await c.close();
      data.cleanup();
    }
  });
});

describe('the cache on the hot path (postgres)', () => {
  let t: TestController;
  beforeAll(async () => {
    t = await startTestController(pgTestDb);
    await waitFor('the auth listener', () => t.c.auth.listener?.live() === true, 10_000);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a listening controller trusts its cache until notified; without a listener a cache hit compares the epoch', async () => {
    const r = await t.req('POST', '/api/v1/tokens', { auth: true, json: { name: uniqueName('hot') } });
    expect(r.status, r.text).toBe(201);
    const tok = r.json<TokenCreated>();
    const header = `Bearer ${tok.token}`;
    const plain = new Authenticator(t.c.ctx.db);
    expect(plain.listener).toBeNull();
    onTestFinished(() => plain.close());
    expect(await t.c.auth.authenticate(header)).toMatchObject({ tokenId: tok.id });
    expect(await plain.authenticate(header)).toMatchObject({ tokenId: tok.id });

    const schema = new URL(t.db.url).searchParams.get('schema')!;
    const c = new pg.Client({ connectionString: PG_BASE_URL });
    await c.connect();
    try {
      // Triggers off for this session: the row changes with no epoch bump and no notification,
      // so both answer from their caches.
      await c.query('SET session_replication_role = replica');
      await c.query(`UPDATE "${schema}".tokens SET revoked_at = now()::text WHERE id = $1`, [tok.id]);
      expect(await t.c.auth.authenticate(header)).toMatchObject({ tokenId: tok.id });
      expect(await plain.authenticate(header)).toMatchObject({ tokenId: tok.id });
      // The epoch alone moves: the one without a listener reads it on its cache hit; the
      // listening one does not read it at all.
      await c.query(`UPDATE "${schema}".auth_epoch SET epoch = epoch + 1`);
      expect(await plain.authenticate(header)).toBeNull();
      expect(await t.c.auth.authenticate(header)).toMatchObject({ tokenId: tok.id });
      // A notification for another schema is not for this controller.
      await c.query(`SELECT pg_notify('buildbox_auth', 'some_other_schema')`);
      await new Promise((r) => setTimeout(r, 200));
      expect(await t.c.auth.authenticate(header)).toMatchObject({ tokenId: tok.id });
      await c.query(`SELECT pg_notify('buildbox_auth', $1)`, [schema]);
      await waitFor('the notification to clear the cache', async () => (await t.c.auth.authenticate(header)) === null, AT_ONCE_MS);
    } finally {
      await c.end();
    }
  });
});

describe('the auth listener on a connection that hangs (postgres)', () => {
  it('stops counting as live within its lease, gives the hung connection up, listens again and catches up', async () => {
    const tdb = pgTestDb();
    const db = await openDatabase(tdb.url);
    const proxy = await startTcpProxy(PG_BASE_URL);
    let changes = 0;
    const listener = new AuthChangeListener({
      url: proxy.url(tdb.url),
      log: createLogger('test', 'silent'),
      onChange: () => changes++,
      pingMs: 100,
      leaseMs: 500,
      deadMs: 1500,
      retryBaseMs: 50,
    });
    try {
      listener.start();
      await waitFor('the listener', () => listener.live(), 10_000);
      expect(changes).toBe(1); // once on connecting: whatever happened before is unknown
      const schema = new URL(tdb.url).searchParams.get('schema')!;
      await db.kysely.updateTable('tokens').set({ revoked_at: null }).execute(); // bumps and notifies
      await waitFor('the notification', () => changes === 2, AT_ONCE_MS);

      // Silence, not an error: only the missing ping answers tell.
      proxy.blackhole();
      const hungAt = Date.now();
      await waitFor('the lease to run out', () => !listener.live(), 2000);
      expect(Date.now() - hungAt).toBeLessThan(1500);
      proxy.restore();
      await waitFor('a new listening connection', () => listener.live(), 10_000);
      expect(changes).toBe(3);

      const c = new pg.Client({ connectionString: PG_BASE_URL });
      await c.connect();
      try {
        await c.query(`SELECT pg_notify('buildbox_auth', $1)`, [schema]);
      } finally {
        await c.end();
      }
      await waitFor('the notification on the new connection', () => changes === 4, AT_ONCE_MS);
    } finally {
      await listener.stop();
      await proxy.close();
      await db.close();
      await tdb.cleanup();
    }
  });
});
