// Who is calling: HTTP Basic (user + password, or any user name + a token as password, for old
// pyBit clients) or a bearer token. Successful checks are cached briefly, because scrypt is
// deliberately slow and hooks may submit hundreds of jobs a second with the same credentials.
import { createHash } from 'node:crypto';
import type { Db } from '../db/connect';
import { hashToken, verifyPassword } from './passwords';

export interface Principal {
  kind: 'user' | 'worker';
  name: string;
  isAdmin: boolean;
  tokenId?: number;
}

const TTL_MS = 30_000;

export class Authenticator {
  private cache = new Map<string, { p: Principal | null; until: number }>();
  /** Bumped by invalidate(): a check that began before a change must not cache its answer. */
  private generation = 0;
  constructor(private readonly db: Db) {}

  /** Forget cached results, e.g. after a password change or a token revocation. */
  invalidate(): void {
    this.generation++;
    this.cache.clear();
  }

  async authenticate(authorization: string | undefined): Promise<Principal | null> {
    if (!authorization) return null;
    const key = createHash('sha256').update(authorization).digest('hex');
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.p;
    const generation = this.generation;
    const p = await this.check(authorization);
    if (generation !== this.generation) return p;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { p, until: Date.now() + TTL_MS });
    return p;
  }

  private async check(authorization: string): Promise<Principal | null> {
    const [scheme, value] = authorization.split(/\s+/, 2);
    if (!scheme || !value) return null;
    if (/^bearer$/i.test(scheme)) return this.byToken(value);
    if (!/^basic$/i.test(scheme)) return null;
    let decoded: string;
    try {
      decoded = Buffer.from(value, 'base64').toString('utf8');
    } catch {
      return null;
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (password.startsWith('bbx_')) {
      const p = await this.byToken(password);
      if (p) return p;
    }
    const row = await this.db.kysely.selectFrom('users').selectAll().where('name', '=', user).executeTakeFirst();
    if (!row) return null;
    if (!(await verifyPassword(password, row.password_hash))) return null;
    return { kind: 'user', name: row.name, isAdmin: Boolean(row.is_admin) };
  }

  private async byToken(token: string): Promise<Principal | null> {
    const row = await this.db.kysely
      .selectFrom('tokens')
      .leftJoin('users', 'users.id', 'tokens.user_id')
      .select(['tokens.id', 'tokens.kind', 'tokens.name', 'tokens.revoked_at', 'users.name as user_name', 'users.is_admin'])
      .where('tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row || row.revoked_at) return null;
    if (row.kind === 'worker') return { kind: 'worker', name: row.name, isAdmin: false, tokenId: row.id };
    return { kind: 'user', name: row.user_name ?? row.name, isAdmin: Boolean(row.is_admin), tokenId: row.id };
  }
}
