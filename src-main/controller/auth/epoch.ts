// How a controller learns that credentials changed in another process: the auth epoch, a counter
// that database triggers bump in the same transaction as every change to users or tokens
// (migration 0009), and on PostgreSQL the NOTIFY those triggers send on 'buildbox_auth' with the
// schema name. The Authenticator trusts its cache while a listener is known to hear those
// notifications, and compares the epoch before each cache hit otherwise (SQLite, or while the
// listening connection is down).
import pg from 'pg';
import SQLite from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import { pgConnection, sqliteOptions, type Db } from '../db/connect';
import type { Logger } from '../logger';

export const AUTH_CHANNEL = 'buildbox_auth';

export interface EpochReader {
  /** The current auth epoch (a plain number on a SQLite file: no await, no round trip). */
  read(): number | Promise<number>;
  close(): void;
}

const EPOCH_SQL = 'SELECT epoch FROM auth_epoch WHERE id = 1';

/**
 * Reads the auth epoch. On a SQLite file, through a read-only connection of its own with the
 * statement prepared once: a cache hit then costs a microsecond or two, and does not wait
 * behind a transaction that holds the controller's connection (in WAL mode readers never
 * wait for writers). Elsewhere through Kysely, compiled once.
 */
export function epochReader(db: Db): EpochReader {
  if (db.dialect === 'sqlite' && db.where !== ':memory:') {
    let conn: SQLite.Database | null = null;
    let stmt: SQLite.Statement<[], number> | null = null;
    return {
      read() {
        if (!stmt) {
          conn = new SQLite(db.where, { ...sqliteOptions(), readonly: true, fileMustExist: true });
          conn.pragma('busy_timeout = 5000');
          stmt = conn.prepare<[], number>(EPOCH_SQL).pluck();
        }
        return Number(stmt.get() ?? 0);
      },
      close() {
        conn?.close();
        conn = null;
        stmt = null;
      },
    };
  }
  const q = db.kysely.selectFrom('auth_epoch').select('epoch').where('id', '=', 1).compile() as CompiledQuery<{ epoch: number }>;
  return {
    async read() {
      const r = await db.kysely.executeQuery(q);
      return Number(r.rows[0]?.epoch ?? 0);
    },
    close() {},
  };
}

export interface AuthListenerOptions {
  /** The controller's postgres:// URL (a `schema` parameter selects the schema, as in openDatabase). */
  url: string;
  /** Called on every notification for this schema, and after each (re)connection. */
  onChange: () => void;
  log: Logger;
  /** Round trip on the listening connection every pingMs... */
  pingMs?: number;
  /** ...and notifications count as heard only while one answered within leaseMs. */
  leaseMs?: number;
  /** An unanswered ping older than this ends the connection (a silently dropped one never errors). */
  deadMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/**
 * One LISTEN connection per controller. A connection can disappear without an error reaching
 * us (a NAT or firewall forgetting an idle flow), so it is pinged, and live() holds only while a
 * ping answered recently: until then the Authenticator checks the epoch instead. Notifications
 * missed while disconnected are covered by calling onChange once listening again.
 */
export class AuthChangeListener {
  private readonly connectionString: string;
  /** Puts the controller's schema first on the search path, as its pool does. */
  private readonly clientOptions: { options?: string };
  /** The listening connection, once it listens. */
  private client: pg.Client | null = null;
  /** The connection being opened or used, ended by stop(). */
  private current: pg.Client | null = null;
  private lastAnswer = 0;
  private schema: string | null = null;
  private pid: number | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private readonly pingMs: number;
  private readonly leaseMs: number;
  private readonly deadMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(private readonly opts: AuthListenerOptions) {
    const { connectionString, options } = pgConnection(opts.url);
    this.connectionString = connectionString;
    this.clientOptions = options;
    this.pingMs = opts.pingMs ?? 1000;
    this.leaseMs = opts.leaseMs ?? 3000;
    this.deadMs = opts.deadMs ?? 10_000;
    this.retryBaseMs = opts.retryBaseMs ?? 100;
    this.retryMaxMs = opts.retryMaxMs ?? 5000;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Listening, and heard from the server within the lease. */
  live(): boolean {
    return this.client !== null && Date.now() - this.lastAnswer < this.leaseMs;
  }

  /** The server process of the listening connection (null while disconnected). */
  get backendPid(): number | null {
    return this.client ? this.pid : null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.current?.end().catch(() => {});
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const client = new pg.Client({
        connectionString: this.connectionString,
        keepAlive: true,
        connectionTimeoutMillis: 10_000,
        application_name: 'buildbox auth listener',
        ...this.clientOptions,
      });
      this.current = client;
      let reason = 'connection closed';
      const closed = new Promise<void>((resolve) => {
        this.wake = resolve;
        client.on('error', (e) => {
          reason = e.message;
          resolve();
        });
        client.on('end', () => resolve());
      });
      client.on('notification', (n) => {
        if (this.client === client && n.channel === AUTH_CHANNEL && n.payload === this.schema) this.opts.onChange();
      });
      let ping: NodeJS.Timeout | undefined;
      try {
        await client.connect();
        await client.query(`LISTEN ${AUTH_CHANNEL}`);
        // The triggers name the schema of the table that changed: the one our tables resolve to.
        const r = await client.query<{ schema: string; pid: number }>(
          `SELECT n.nspname AS schema, pg_backend_pid() AS pid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = to_regclass('auth_epoch')`,
        );
        if (!r.rows[0]) throw new Error('no auth_epoch table on the search path');
        this.schema = r.rows[0].schema;
        this.pid = r.rows[0].pid;
        if (this.stopped) break;
        this.lastAnswer = Date.now();
        this.client = client;
        // Whatever changed while nobody listened was not notified.
        this.opts.onChange();
        if (failures > 0) this.opts.log.info('listening for credential changes again');
        failures = 0;
        let sent = 0;
        ping = setInterval(() => {
          if (sent > this.lastAnswer) {
            if (Date.now() - sent > this.deadMs) {
              reason = `no answer to a ping for ${this.deadMs} ms`;
              this.wake?.();
            }
            return;
          }
          sent = Date.now();
          client.query('SELECT 1').then(
            () => {
              if (this.client === client) this.lastAnswer = Date.now();
            },
            () => {},
          );
        }, this.pingMs);
        ping.unref();
        await closed;
      } catch (e) {
        reason = (e as Error).message;
      } finally {
        clearInterval(ping);
        this.client = null;
        this.current = null;
        this.wake = null;
        // Not awaited: ending a connection whose peer vanished can hang until TCP gives up.
        client.end().catch(() => {});
      }
      if (this.stopped) break;
      if (failures === 0) this.opts.log.warn(`not hearing of credential changes (${reason}); comparing the auth epoch on each request until reconnected`);
      const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** failures) * (0.5 + Math.random() / 2);
      failures++;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, delay).unref();
      });
      this.wake = null;
    }
  }
}
