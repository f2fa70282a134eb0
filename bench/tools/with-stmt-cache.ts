// Experiment: runs the bench with a prepared-statement cache patched into better-sqlite3, to
// show what caching statements in the SQLite driver path would gain (Kysely's SqliteDriver calls
// db.prepare(sql) for every query). Only this process is patched; the code under test is not.
//   BENCH_DIALECTS=sqlite npx tsx bench/tools/with-stmt-cache.ts controller
import SQLite from 'better-sqlite3';

type Stmt = { busy: boolean };
const proto = SQLite.prototype as unknown as { prepare: (sql: string) => Stmt };
const prepare = proto.prepare;
const caches = new WeakMap<object, Map<string, Stmt>>();
proto.prepare = function (this: object, sql: string) {
  let c = caches.get(this);
  if (!c) caches.set(this, (c = new Map()));
  const hit = c.get(sql);
  // A statement still iterating cannot run again; prepare a fresh one then.
  if (hit && !hit.busy) return hit;
  const st = prepare.call(this, sql);
  if (c.size < 1000) c.set(sql, st);
  return st;
};
process.stderr.write('[bench] better-sqlite3 prepare() cached by SQL text (experiment)\n');
await import('../run');
