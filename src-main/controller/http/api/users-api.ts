// /api/v1/me, /api/v1/users and /api/v1/tokens: what `buildbox user` does on the database, over
// HTTP for the Settings screen. Administrators manage accounts and every token; a user changes
// its own password and makes and revokes its own tokens. Every change that can alter what a
// credential may do clears the Authenticator's cache, so it takes effect on the next request.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely, Transaction } from 'kysely';
import { TokenCreate, UserCreate, UserPatch, usersRoutes, type Me, type TokenCreated, type TokenInfo, type TokenKind, type UserCreated, type UserInfo } from '@shared/users-api';
import type { Principal } from '../../auth/auth';
import { generatePassword, hashPassword } from '../../auth/passwords';
import { issueToken } from '../../auth/tokens';
import type { Database } from '../../db/schema';
import { isUniqueViolation } from '../../db/errors';
import { nowText } from '../../db/time';
import { HttpError } from '../errors';
import { idParam, type AuthDeps } from '../pybit/common';
import { iso, parseBody, requireAdmin, requireApiUser } from './read-common';

type Q = Kysely<Database> | Transaction<Database>;

/**
 * A user name from the path. Looser than the create rule, so that accounts made earlier with
 * the CLI (which takes any name) can still be changed and deleted here.
 */
function nameParam(req: FastifyRequest): string {
  const name = (req.params as { name?: string }).name ?? '';
  if (name === '' || name.length > 200 || /[:\u0000-\u001f\u007f]/.test(name)) {
    throw new HttpError(400, "path parameter 'name': must be a user name (1–200 characters, no ':' or control characters)");
  }
  return name;
}

async function userInfo(q: Q, name: string): Promise<UserInfo | undefined> {
  const rows = await listUsers(q, name);
  return rows[0];
}

async function listUsers(q: Q, only?: string): Promise<UserInfo[]> {
  let query = q
    .selectFrom('users as u')
    .select((eb) => [
      'u.name',
      'u.is_admin',
      'u.created_at',
      eb
        .selectFrom('tokens as t')
        .select((e) => e.fn.countAll<number | string>().as('n'))
        .whereRef('t.user_id', '=', 'u.id')
        .where('t.revoked_at', 'is', null)
        .as('active_tokens'),
    ])
    .orderBy('u.name');
  if (only !== undefined) query = query.where('u.name', '=', only);
  const rows = await query.execute();
  return rows.map((r) => ({ name: r.name, isAdmin: Boolean(r.is_admin), createdAt: iso(r.created_at), activeTokens: Number(r.active_tokens ?? 0) }));
}

/**
 * The administrators' ids, locked on PostgreSQL until the transaction ends, so that two requests
 * removing different administrators at once cannot both see "another one is left". (SQLite runs
 * one write transaction at a time.)
 */
async function lockAdmins(tx: Transaction<Database>, dialect: 'sqlite' | 'postgres'): Promise<number[]> {
  const q = tx.selectFrom('users').select('id').where('is_admin', '=', 1).orderBy('id');
  return (await (dialect === 'postgres' ? q.forUpdate() : q).execute()).map((r) => r.id);
}

function tokenSelect(q: Q) {
  return q
    .selectFrom('tokens as t')
    .leftJoin('users as u', 'u.id', 't.user_id')
    .select(['t.id', 't.name', 't.kind', 't.created_at', 't.revoked_at', 'u.name as user_name']);
}

type TokenRow = { id: number; name: string; kind: string; created_at: string; revoked_at: string | null; user_name: string | null };

function tokenInfo(r: TokenRow, who: Principal): TokenInfo {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind === 'worker' ? 'worker' : 'user',
    user: r.kind === 'worker' ? null : r.user_name,
    createdAt: iso(r.created_at),
    revokedAt: iso(r.revoked_at),
    current: who.tokenId === r.id,
  };
}

export function registerUsersApi(app: FastifyInstance, deps: AuthDeps): void {
  const db = deps.ctx.db.kysely;
  const dialect = deps.ctx.db.dialect;

  app.get(usersRoutes.me, async (req, reply) => {
    if (!req.headers.authorization) return { name: '', kind: 'anonymous', isAdmin: false } satisfies Me;
    const p = await deps.auth.authenticate(req.headers.authorization);
    if (!p) {
      reply.header('www-authenticate', 'Bearer realm="buildbox"');
      throw new HttpError(401, 'invalid credentials');
    }
    const me: Me = { name: p.name, kind: p.kind, isAdmin: p.isAdmin, ...(p.tokenId !== undefined ? { tokenId: p.tokenId } : {}) };
    return me;
  });

  app.get(usersRoutes.users, async (req, reply) => {
    await requireAdmin(deps, req, reply, 'manage users');
    return { items: await listUsers(db) };
  });

  app.post(usersRoutes.users, async (req, reply) => {
    await requireAdmin(deps, req, reply, 'manage users');
    const body = parseBody(UserCreate, req.body);
    const taken = () => new HttpError(409, `name: a user named '${body.name}' already exists`);
    if (await db.selectFrom('users').select('id').where('name', '=', body.name).executeTakeFirst()) throw taken();
    const password = body.password ?? generatePassword();
    const hash = await hashPassword(password);
    try {
      await db.insertInto('users').values({ name: body.name, password_hash: hash, is_admin: body.admin ? 1 : 0, created_at: nowText() }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw taken();
      throw e;
    }
    const info = (await userInfo(db, body.name))!;
    const res: UserCreated = body.password === undefined ? { ...info, password } : info;
    return reply.code(201).send(res);
  });

  app.patch(usersRoutes.user, async (req, reply) => {
    const who = await requireApiUser(deps, req, reply);
    const name = nameParam(req);
    if (!who.isAdmin && who.name !== name) throw new HttpError(403, 'only administrators change other users');
    const body = parseBody(UserPatch, req.body);
    if (!who.isAdmin && body.admin !== undefined) throw new HttpError(403, 'admin: only administrators change who is an administrator');
    // scrypt is slow on purpose: hash before the transaction, not while holding its locks.
    const hash = body.password !== undefined ? await hashPassword(body.password) : undefined;
    await db.transaction().execute(async (tx) => {
      const admins = body.admin === false ? await lockAdmins(tx, dialect) : [];
      const row = await tx.selectFrom('users').select(['id', 'is_admin']).where('name', '=', name).executeTakeFirst();
      if (!row) throw new HttpError(404, `no user named '${name}'`);
      if (body.admin === false && row.is_admin && admins.length <= 1) {
        throw new HttpError(409, `admin: '${name}' is the last administrator; make another user an administrator first`);
      }
      await tx
        .updateTable('users')
        .set({ ...(hash !== undefined ? { password_hash: hash } : {}), ...(body.admin !== undefined ? { is_admin: body.admin ? 1 : 0 } : {}) })
        .where('id', '=', row.id)
        .execute();
    });
    deps.auth.invalidate();
    return (await userInfo(db, name))!;
  });

  app.delete(usersRoutes.user, async (req, reply) => {
    const who = await requireAdmin(deps, req, reply, 'manage users');
    const name = nameParam(req);
    if (name === who.name) throw new HttpError(409, `you cannot delete your own account ('${name}'); another administrator can`);
    await db.transaction().execute(async (tx) => {
      const admins = await lockAdmins(tx, dialect);
      // Locked on PostgreSQL, so a token being made for this user at the same time waits and then
      // finds no user, instead of slipping in between the two deletes below.
      const find = tx.selectFrom('users').select(['id', 'is_admin']).where('name', '=', name);
      const row = await (dialect === 'postgres' ? find.forUpdate() : find).executeTakeFirst();
      if (!row) throw new HttpError(404, `no user named '${name}'`);
      if (row.is_admin && admins.length <= 1) throw new HttpError(409, `'${name}' is the last administrator and cannot be deleted`);
      // The tokens go with the account: a token of a deleted user must never work again.
      await tx.deleteFrom('tokens').where('user_id', '=', row.id).execute();
      await tx.deleteFrom('users').where('id', '=', row.id).execute();
    });
    deps.auth.invalidate();
    return reply.code(204).send();
  });

  app.get(usersRoutes.tokens, async (req, reply) => {
    const who = await requireApiUser(deps, req, reply);
    let q = tokenSelect(db).orderBy('t.id');
    // Everyone else sees only their own tokens; worker tokens belong to no user.
    if (!who.isAdmin) q = q.where('t.kind', '=', 'user').where('u.name', '=', who.name);
    return { items: (await q.execute()).map((r) => tokenInfo(r, who)) };
  });

  app.post(usersRoutes.tokens, async (req, reply) => {
    const who = await requireApiUser(deps, req, reply);
    const body = parseBody(TokenCreate, req.body);
    const kind: TokenKind = body.kind;
    if (kind === 'worker' && !who.isAdmin) throw new HttpError(403, 'kind: only administrators make worker tokens');
    if (kind === 'worker' && body.user !== undefined) throw new HttpError(400, "field 'user': worker tokens belong to no user");
    const owner = body.user ?? who.name;
    if (kind === 'user' && owner !== who.name && !who.isAdmin) throw new HttpError(403, 'user: only administrators make tokens for other users');
    const { id, token } = await db.transaction().execute(async (tx) => {
      let userId: number | null = null;
      if (kind === 'user') {
        const u = await tx.selectFrom('users').select('id').where('name', '=', owner).executeTakeFirst();
        if (!u) throw new HttpError(404, `user: no user named '${owner}'`);
        userId = u.id;
      }
      let dup = tx.selectFrom('tokens').select('id').where('kind', '=', kind).where('name', '=', body.name).where('revoked_at', 'is', null);
      dup = userId === null ? dup.where('user_id', 'is', null) : dup.where('user_id', '=', userId);
      if (await dup.executeTakeFirst()) {
        throw new HttpError(409, `name: ${kind === 'worker' ? 'a worker token' : `a token of '${owner}'`} named '${body.name}' is already active; revoke it first or pick another name`);
      }
      return issueToken(tx, { kind, userId, name: body.name });
    });
    const row = await tokenSelect(db).where('t.id', '=', id).executeTakeFirstOrThrow();
    const res: TokenCreated = { ...tokenInfo(row, who), token };
    return reply.code(201).send(res);
  });

  app.delete(usersRoutes.token, async (req, reply) => {
    const who = await requireApiUser(deps, req, reply);
    const id = idParam((req.params as { id?: string }).id, "path parameter 'id'");
    const row = await db.transaction().execute(async (tx) => {
      const r = await tokenSelect(tx).where('t.id', '=', id).executeTakeFirst();
      if (!r) throw new HttpError(404, `no token with id ${id}`);
      if (!who.isAdmin && (r.kind === 'worker' || r.user_name !== who.name)) throw new HttpError(403, 'only administrators revoke tokens of others');
      // Revoking twice answers the same: the first revocation time stays.
      await tx.updateTable('tokens').set({ revoked_at: nowText() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
      return tokenSelect(tx).where('t.id', '=', id).executeTakeFirstOrThrow();
    });
    deps.auth.invalidate();
    return tokenInfo(row, who);
  });
}
