// Per-test databases: a SQLite file in a temp dir, or a PostgreSQL schema of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { randomBytes } from 'node:crypto';

export const PG_BASE_URL = process.env.BUILDBOX_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const AMQP_TEST_URL = process.env.BUILDBOX_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672/';

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function tempDir(prefix = 'buildbox-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestDb {
  kind: 'sqlite' | 'postgres';
  url: string;
  cleanup(): Promise<void>;
}

export function sqliteTestDb(): TestDb {
  const t = tempDir('buildbox-db-');
  return { kind: 'sqlite', url: join(t.dir, 'buildbox.db'), cleanup: async () => t.cleanup() };
}

export function pgTestDb(): TestDb {
  const schema = uniqueName('t').toLowerCase();
  const u = new URL(PG_BASE_URL);
  u.searchParams.set('schema', schema);
  return {
    kind: 'postgres',
    url: u.toString(),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_BASE_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Both dialects, for `describe.each`. */
export const DIALECTS: Array<{ name: 'sqlite' | 'postgres'; make: () => TestDb }> = [
  { name: 'sqlite', make: sqliteTestDb },
  { name: 'postgres', make: pgTestDb },
];
