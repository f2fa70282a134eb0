// Prints every SQL statement one `any` submission through POST /job/vcshook sends, in order,
// with the time each took: a quick way to see what process_job costs.
//   npx tsx bench/tools/trace-submission.ts [sqlite|postgres]
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { join } from 'node:path';
import { startController } from '../../src-main/controller/controller';
import { Scope } from '../lib/env';
import { createSuite, lookups, seedAndAnalyze, type SqlExec } from '../controller/schema-setup';

const log: Array<{ sql: string; us: number }> = [];
let tracing = false;
const proto = SQLite.prototype as unknown as { prepare: (sql: string) => Record<string, (...a: unknown[]) => unknown> };
const prepare = proto.prepare;
proto.prepare = function (this: unknown, sql: string) {
  const t0 = performance.now();
  const st = prepare.call(this, sql);
  if (!tracing) return st;
  const prepUs = (performance.now() - t0) * 1000;
  const entry = { sql: `[prepare ${prepUs.toFixed(0)} µs] ${sql}`, us: prepUs };
  log.push(entry);
  for (const m of ['all', 'run', 'get', 'iterate']) {
    const orig = st[m]!;
    st[m] = (...a: unknown[]) => {
      const s = performance.now();
      try {
        return orig.apply(st, a);
      } finally {
        entry.us += (performance.now() - s) * 1000;
      }
    };
  }
  return st;
};

// PostgreSQL: time from sending each statement to its result (a round trip plus server time).
const pgProto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
const pgQuery = pgProto.query;
pgProto.query = function (this: unknown, ...a: unknown[]) {
  const r = pgQuery.apply(this, a);
  if (!tracing || !(r instanceof Promise)) return r;
  const text = typeof a[0] === 'string' ? a[0] : String((a[0] as { text?: string }).text);
  const entry = { sql: text, us: 0 };
  log.push(entry);
  const t0 = performance.now();
  return r.finally(() => (entry.us = (performance.now() - t0) * 1000));
};

const dialect = process.argv[2] === 'postgres' ? 'postgres' : 'sqlite';
const scope = new Scope();
try {
  const dir = scope.tempDir();
  const url = dialect === 'sqlite' ? join(dir, 'c.db') : scope.pgSchemaUrl().url;
  const c = await startController({ db: url, amqp: null, port: 0, dataDir: dir, adminPassword: 'x', logLevel: 'silent' });
  scope.onCleanup(() => c.close());
  if (dialect === 'sqlite') {
    const db = new SQLite(url);
    const x: SqlExec = { dialect: 'sqlite', query: async <T>(sql: string) => { const s = db.prepare(sql); if (s.reader) return s.all() as T[]; s.run(); return []; } };
    await createSuite(x, await lookups(x), 'trace');
    await seedAndAnalyze(x, await lookups(x), 2000);
    db.close();
  } else {
    const u = new URL(url);
    const schema = u.searchParams.get('schema')!;
    u.searchParams.delete('schema');
    const cl = new pg.Client({ connectionString: u.toString(), options: `-c search_path="${schema}"` });
    await cl.connect();
    const x: SqlExec = { dialect: 'postgres', query: async <T>(sql: string) => (await cl.query(sql)).rows as T[] };
    await createSuite(x, await lookups(x), 'trace');
    await seedAndAnalyze(x, await lookups(x), 2000);
    await cl.end();
  }
  const submit = (i: number) =>
    fetch(`${c.url}/job/vcshook`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('admin:x').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ package: `trace-${i}`, package_version: '1.0-1', suite: 'trace', distribution: 'Debian', format: 'deb', architecture_list: 'any', method: 'git', uri: 'http://git.invalid/x.git', vcs_id: 'abc' }),
    }).then((r) => r.text());
  for (let i = 0; i < 50; i++) await submit(i); // warm
  // Average over 20 traced submissions; list the statements of the last one.
  const N = 20;
  let wallSum = 0;
  let dbSum = 0;
  let prepSum = 0;
  for (let k = 0; k < N; k++) {
    log.length = 0;
    tracing = true;
    const t0 = performance.now();
    await submit(1000 + k);
    wallSum += performance.now() - t0;
    tracing = false;
    for (const e of log) {
      dbSum += e.us;
      prepSum += Number(/prepare (\d+)/.exec(e.sql)?.[1] ?? 0);
    }
  }
  const wall = wallSum / N;
  process.stdout.write(`mean of ${N}: request wall ${(wall * 1000).toFixed(0)} µs, database ${(dbSum / N).toFixed(0)} µs${dialect === 'sqlite' ? ` of which prepare ${(prepSum / N).toFixed(0)} µs` : ''}\n`);
  let sum = 0;
  log.forEach((e, i) => {
    sum += e.us;
    process.stdout.write(`${String(i + 1).padStart(2)} ${e.us.toFixed(0).padStart(5)} µs  ${e.sql.replace(/\s+/g, ' ').slice(0, 220)}\n`);
  });
  process.stdout.write(`${log.length} statements, ${sum.toFixed(0)} µs in the database (SQLite: prepare + run; PostgreSQL: round trips); request wall ${(wall * 1000).toFixed(0)} µs\n`);
} finally {
  await scope.cleanup();
}
