// The statement reuse under Kysely (db/statement-cache.ts) must be invisible: same results as
// fresh statements, a streamed query and the same SQL run inside it, more distinct statements
// than the caches hold, and errors that leave the cached statement usable.
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src-main/controller/db/connect';
import { DIALECTS, type TestDb } from '../helpers/db';
import { cachingSqliteDatabase } from '../../src-main/controller/db/statement-cache';
import SQLite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe.each(DIALECTS)('statement reuse ($name)', ({ name, make }) => {
  let tdb: TestDb | undefined;
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    await tdb?.cleanup();
    db = tdb = undefined;
  });
  const open = async () => {
    tdb = make();
    db = await openDatabase(tdb.url);
    return db;
  };

  it('returns the right rows for the same SQL with different parameters, concurrently', async () => {
    const d = await open();
    await d.kysely.insertInto('arch').values(Array.from({ length: 30 }, (_, i) => ({ name: `a${i}` }))).execute();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => d.kysely.selectFrom('arch').select(['id', 'name']).where('name', '=', `a${i % 30}`).executeTakeFirst()),
    );
    results.forEach((r, i) => expect(r?.name).toBe(`a${i % 30}`));
    expect(await d.kysely.selectFrom('arch').select('id').where('name', '=', 'nope').executeTakeFirst()).toBeUndefined();
  });

  it('works past the cache bounds: many distinct statements, then the first ones again', async () => {
    const d = await open();
    const run = (i: number) => sql<{ n: number }>`select ${sql.lit(i)} as n, ${i} as m`.execute(d.kysely);
    // Inside one transaction on PostgreSQL the statements all land on one connection.
    await d.kysely.transaction().execute(async (tx) => {
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 650; i++) {
          const r = await sql<{ n: number; m: number }>`select ${sql.lit(i)} as n, ${i} as m`.execute(tx);
          expect(Number(r.rows[0]!.n)).toBe(i);
          expect(Number(r.rows[0]!.m)).toBe(i);
        }
      }
    });
    for (const i of [0, 1, 649]) expect(Number((await run(i)).rows[0]!.n)).toBe(i);
  });

  it('a statement that failed runs again, and a rolled-back transaction leaves it usable', async () => {
    const d = await open();
    await d.kysely.insertInto('arch').values({ name: 'x' }).execute();
    for (let i = 0; i < 3; i++) {
      // A unique violation from the same (cached or named) INSERT each time.
      await expect(d.kysely.insertInto('arch').values({ name: 'x' }).execute()).rejects.toThrow();
    }
    await expect(
      d.kysely.transaction().execute(async (tx) => {
        await tx.insertInto('arch').values({ name: 'y' }).execute();
        await tx.insertInto('arch').values({ name: 'x' }).execute();
      }),
    ).rejects.toThrow();
    await d.kysely.insertInto('arch').values({ name: 'z' }).execute();
    const names = (await d.kysely.selectFrom('arch').select('name').orderBy('name').execute()).map((r) => r.name);
    expect(names).toEqual(['x', 'z']);
    // Unknown tables fail the same way every time.
    for (let i = 0; i < 3; i++) await expect(sql`select * from no_such_table where id = ${i}`.execute(d.kysely)).rejects.toThrow(/no_such_table/);
  });

  it.runIf(name === 'sqlite')('a statement still iterating is not handed out again; the cache stays bounded and correct', async () => {
    // Kysely holds its one SQLite connection while streaming, so this drives the handle it is
    // given directly.
    const dir = mkdtempSync(join(tmpdir(), 'buildbox-stmt-'));
    const raw = new SQLite(join(dir, 'x.db'));
    try {
      const h = cachingSqliteDatabase(raw, 3);
      h.prepare('create table t (n integer)').run([]);
      h.prepare('insert into t (n) values (1), (2), (3)').run([]);
      const q = 'select n from t order by n';
      const first = h.prepare(q);
      const seen: unknown[] = [];
      for (const row of first.iterate([])) {
        seen.push((row as { n: number }).n);
        const again = h.prepare(q);
        expect(again).not.toBe(first);
        expect(again.all([])).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      }
      expect(seen).toEqual([1, 2, 3]);
      // Done iterating: the cached statement is reused.
      expect(h.prepare(q)).toBe(first);
      // More distinct SQL than the cache holds: the oldest goes, results stay right.
      for (let i = 0; i < 10; i++) expect(h.prepare(`select ${i} as v`).all([])).toEqual([{ v: i }]);
      expect(h.prepare(q)).not.toBe(first);
      expect(h.prepare(q).all([])).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    } finally {
      raw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
