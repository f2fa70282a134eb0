// Migrating a fresh PostgreSQL schema while other sessions create and drop schemas (parallel
// tests and benchmarks share one server): Kysely introspects every schema's catalog first, and
// a schema or table dropped under that query fails it. Nothing has run by then, so migrate()
// tries again; these errors must be told from real ones.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/controller/db/connect';
import { isCatalogRace } from '../../src-main/controller/db/migrations';
import { PG_BASE_URL, pgTestDb, uniqueName, type TestDb } from '../helpers/db';

describe('isCatalogRace', () => {
  it('is true for a schema, relation or column that vanished under a catalog query, and nothing else', () => {
    for (const code of ['3F000', '42P01', '42703']) expect(isCatalogRace(Object.assign(new Error('x'), { code }))).toBe(true);
    for (const code of ['23505', '42601', '40P01']) expect(isCatalogRace(Object.assign(new Error('x'), { code }))).toBe(false);
    expect(isCatalogRace(new Error('no code'))).toBe(false);
    expect(isCatalogRace(null)).toBe(false);
  });
});

describe('migrate() on PostgreSQL beside schema churn', () => {
  const dbs: TestDb[] = [];
  afterEach(async () => {
    for (const d of dbs.splice(0)) await d.cleanup();
  });

  it('migrates fresh schemas while another session keeps creating and dropping schemas with tables', async () => {
    const churn = new pg.Client({ connectionString: PG_BASE_URL });
    await churn.connect();
    const prefix = uniqueName('churn').toLowerCase();
    let stop = false;
    let made = 0;
    const loop = (async () => {
      while (!stop) {
        const s = `${prefix}_${made++}`;
        await churn.query(`CREATE SCHEMA "${s}"; CREATE TABLE "${s}".kysely_migration (name varchar(255) PRIMARY KEY, timestamp varchar(255) NOT NULL, n serial)`);
        await churn.query(`DROP SCHEMA "${s}" CASCADE`);
      }
    })();
    try {
      for (let i = 0; i < 4; i++) {
        const t = pgTestDb();
        dbs.push(t);
        const db = await openDatabase(t.url);
        try {
          // Every migration ran: the last one's table is there, with its one row.
          const { epoch } = await db.kysely.selectFrom('auth_epoch').select('epoch').where('id', '=', 1).executeTakeFirstOrThrow();
          expect(Number(epoch)).toBeGreaterThanOrEqual(0);
        } finally {
          await db.close();
        }
      }
    } finally {
      stop = true;
      await loop.catch(() => {});
      await churn.end();
    }
    expect(made).toBeGreaterThan(4);
  });
});
