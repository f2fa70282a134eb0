// Reuse of prepared statements under Kysely, which compiles every query to SQL text and hands
// that text to the driver each time.
//
// * SQLite: Kysely's driver calls db.prepare(sql) for every query, and preparing costs more
//   than running a small statement. The handle given to Kysely returns a cached statement for
//   SQL text it has seen (bounded, least recently used out).
// * PostgreSQL: an unnamed statement is parsed and planned on every execution (a 9-table join
//   takes milliseconds to plan). Statements seen repeatedly are sent as named statements, which
//   the server keeps per connection; a cap per connection bounds what the server holds.
import { createHash } from 'node:crypto';
import type SQLite from 'better-sqlite3';
import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient, SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts whose statements stay prepared, per SQLite connection. */
const SQLITE_CACHE_SIZE = 500;

export function cachingSqliteDatabase(db: SQLite.Database, size = SQLITE_CACHE_SIZE): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      if (hit) {
        // A statement still iterating (a streamed query not yet finished) cannot run again
        // until it is done; such a caller gets a statement of its own.
        if (hit.busy) return db.prepare(sql);
        // Map order is insertion order: re-inserting marks it most recently used.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const st = db.prepare(sql);
      cache.set(sql, st);
      if (cache.size > size) cache.delete(cache.keys().next().value as string);
      return st;
    },
  };
}

export interface NamedStatementPool extends PostgresPool {
  /** Start naming statements (after migrations: DDL must not meet plans kept from before it). */
  enable(): void;
}

/** Executions of one SQL text before it becomes a named statement: one-off queries stay unnamed. */
const NAME_AFTER = 2;
/** Named statements kept per server connection. */
const PER_CONNECTION = 300;
/** SQL texts counted at most; the counts start over when full. */
const SEEN_LIMIT = 5000;
/** Only plain DML/queries are named (not BEGIN, COMMIT, SAVEPOINT or DDL). */
const NAMEABLE = /^\s*(select|insert|update|delete|with)\b/i;

export function namedStatementPool(pool: pg.Pool): NamedStatementPool {
  let enabled = false;
  const seen = new Map<string, number>();
  const names = new Map<string, string>();
  const perClient = new WeakMap<object, Set<string>>();

  const nameFor = (text: string, client: object): string | undefined => {
    if (!enabled || !NAMEABLE.test(text)) return undefined;
    let name = names.get(text);
    if (name === undefined) {
      const n = (seen.get(text) ?? 0) + 1;
      if (n < NAME_AFTER) {
        if (seen.size >= SEEN_LIMIT) seen.clear();
        seen.set(text, n);
        return undefined;
      }
      seen.delete(text);
      if (names.size >= SEEN_LIMIT) names.clear();
      name = `bb_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    let held = perClient.get(client);
    if (!held) perClient.set(client, (held = new Set()));
    if (held.has(name)) return name;
    if (held.size >= PER_CONNECTION) return undefined;
    held.add(name);
    return name;
  };

  return {
    enable() {
      enabled = true;
    },
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      const query = (first: unknown, values?: ReadonlyArray<unknown>) => {
        if (typeof first === 'string') {
          const name = nameFor(first, client);
          if (name !== undefined) return client.query({ name, text: first, values: values as unknown[] });
          return client.query(first, values as unknown[]);
        }
        // A cursor (streamed query) or any other query object goes through untouched.
        return client.query(first as pg.QueryConfig);
      };
      return { query, release: () => client.release() } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
