// Opens the controller database: a SQLite file (better-sqlite3, WAL) or PostgreSQL (pg Pool).
// A `schema` query parameter on a postgres:// URL selects (and creates) a schema, which is
// how tests and benchmarks get a database of their own on a shared server.
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from './schema';
import { migrate, type Dialect } from './migrations';
import { cachingSqliteDatabase, namedStatementPool } from './statement-cache';

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** A short description for logs (the file path or the URL without credentials). */
  where: string;
  close(): Promise<void>;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * better-sqlite3's addon, when not the one npm built for Node: the desktop app names its Electron
 * build (scripts/electron-native.mjs) in BUILDBOX_SQLITE_BINDING.
 */
export function sqliteOptions(): SQLite.Options {
  const nativeBinding = process.env.BUILDBOX_SQLITE_BINDING;
  if (!nativeBinding) return {};
  if (!existsSync(nativeBinding)) throw new Error(`BUILDBOX_SQLITE_BINDING names ${nativeBinding}, which does not exist`);
  return { nativeBinding };
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A postgres:// URL split into what the pg driver takes: the connection string without the
 * `schema` parameter, and the options that put that schema first on the search path.
 */
export function pgConnection(url: string): { connectionString: string; schema: string | undefined; options: { options?: string } } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema && !SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name in database URL: ${schema}`);
  return { connectionString: u.toString(), schema, options: schema ? { options: `-c search_path="${schema}"` } : {} };
}

export async function openDatabase(url: string, opts: { migrate?: boolean } = {}): Promise<Db> {
  let db: Db;
  let pgSchema: string | undefined;
  let afterMigrate = () => {};
  if (isPostgresUrl(url)) {
    const { connectionString, schema, options } = pgConnection(url);
    const u = new URL(connectionString);
    pgSchema = schema;
    if (schema) {
      const c = new pg.Client({ connectionString });
      await c.connect();
      try {
        await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      } finally {
        await c.end();
      }
    }
    const pool = new pg.Pool({
      connectionString,
      max: 10,
      ...options,
    });
    // An idle client that loses its connection must not crash the process.
    pool.on('error', () => {});
    const named = namedStatementPool(pool);
    afterMigrate = () => named.enable();
    u.password = '';
    db = {
      kysely: new Kysely<Database>({ dialect: new PostgresDialect({ pool: named }) }),
      dialect: 'postgres',
      where: u.toString() + (schema ? ` (schema ${schema})` : ''),
      close: async () => {
        await db.kysely.destroy();
      },
    };
  } else {
    const file = url.replace(/^sqlite:(\/\/)?/, '');
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const sqlite = new SQLite(file, sqliteOptions());
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    db = {
      kysely: new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingSqliteDatabase(sqlite) }) }),
      dialect: 'sqlite',
      where: file,
      close: async () => {
        await db.kysely.destroy();
      },
    };
  }
  if (opts.migrate !== false) await migrate(db.kysely, db.dialect, pgSchema);
  afterMigrate();
  return db;
}
