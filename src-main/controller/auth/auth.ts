// Who is calling: HTTP Basic (user + password, or any user name + a token as password, for old
// pyBit clients) or a bearer token. Checks are cached briefly, because scrypt is deliberately
// slow and hooks may submit hundreds of jobs a second with the same credentials. A cached answer
// is trusted only while nothing changed users or tokens since it was checked, in this process or
// any other on the same database (see epoch.ts).
import { createHash } from 'node:crypto';
import type { Db } from '../db/connect';
import type { Logger } from '../logger';
import { AuthChangeListener, epochReader, type EpochReader } from './epoch';
import { hashToken, verifyPassword } from './passwords';

export interface Principal {
  kind: 'user' | 'worker';
  name: string;
  isAdmin: boolean;
  tokenId?: number;
}

const TTL_MS = 30_000;

export interface AuthenticatorOptions {
  /**
   * On PostgreSQL, the database URL to listen on for credential changes, so that cache hits
   * need no round trip. Without it every cache hit reads the auth epoch.
   */
  listen?: { url: string; log: Logger };
}

export class Authenticator {
  private cache = new Map<string, { p: Principal | null; until: number }>();
  /** Bumped by invalidate(): a check that began before a change must not cache its answer. */
  private generation = 0;
  /** The auth epoch read before the checks now cached (null until the first check). */
  private epoch: number | null = null;
  /** Hears of changes made through any controller or the CLI (PostgreSQL only). */
  readonly listener: AuthChangeListener | null = null;
  private readonly epochs: EpochReader;

  constructor(
    private readonly db: Db,
    opts: AuthenticatorOptions = {},
  ) {
    this.epochs = epochReader(db);
    if (db.dialect === 'postgres' && opts.listen) {
      this.listener = new AuthChangeListener({ ...opts.listen, onChange: () => this.invalidate() });
      this.listener.start();
    }
  }

  /** Forget cached results, e.g. after a password change or a token revocation. */
  invalidate(): void {
    this.generation++;
    this.cache.clear();
  }

  async close(): Promise<void> {
    await this.listener?.stop();
    this.epochs.close();
  }

  async authenticate(authorization: string | undefined): Promise<Principal | null> {
    if (!authorization) return null;
    const key = createHash('sha256').update(authorization).digest('hex');
    const hit = this.cache.get(key);
    let epoch: number | undefined;
    if (hit && hit.until > Date.now()) {
      // A live listener would have cleared the cache on any change.
      if (this.listener?.live()) return hit.p;
      epoch = await this.epochs.read();
      // Still there after the read: no invalidate() meanwhile.
      if (epoch === this.epoch && this.cache.get(key) === hit) return hit.p;
    }
    // Read before the check: a change committed after this read bumps past it, so a later cache
    // hit compares unequal even if the check itself saw the old rows.
    epoch ??= await this.epochs.read();
    if (epoch !== this.epoch) {
      this.invalidate();
      this.epoch = epoch;
    }
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
