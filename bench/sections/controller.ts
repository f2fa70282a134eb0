// Issue 3: submissions through POST /job/vcshook (`any` over a two-arch suite → 2 jobs each) at 1
// and 16 concurrent clients, on SQLite and PostgreSQL, with the real controller and RabbitMQ.
// A run ends when every message of every accepted submission is confirmed by the broker and
// marked sent, so the figure includes publishing. Each run is printed beside the floor (see
// bench/controller/floor.ts) measured in the same process a moment before.
import SQLite from 'better-sqlite3';
import pg from 'pg';
import amqp from 'amqplib';
import { join } from 'node:path';
import { startController, type Controller } from '../../src-main/controller/controller';
import { openDatabase } from '../../src-main/controller/db/connect';
import { seed } from '../../src-main/controller/db/seed';
import { buildQueueName, buildRoutingKey } from '@shared/pybit-models';
import { AMQP_URL, PG_URL, uniqueName, type Scope } from '../lib/env';
import { runLoad, type LoadResult } from '../lib/load';
import { percentile, progress, waitUntil, sleep } from '../lib/stats';
import { installPgCounter, pgStatements } from '../lib/pg-count';
import type { Row, SectionResult } from '../lib/report';
import { BENCH_ARCHES, createSuite, lookups, seedAndAnalyze, type Lookups, type SqlExec } from '../controller/schema-setup';
import { ConfirmedPublisher, pgFloorWriter, sqliteFloorWriter, type FloorWriter } from '../controller/floor';

type Dialect = 'sqlite' | 'postgres';

export interface ControllerBenchOptions {
  /** Length of each measured run. */
  seconds: number;
  /** Finished submissions seeded before measuring (then ANALYZE). */
  seedPackages: number;
  dialects: Array<'sqlite' | 'postgres'>;
}

const ADMIN_PASSWORD = 'bench-admin';
const JOBS_PER_SUBMISSION = BENCH_ARCHES.length;
const CONCURRENCY = [1, 16] as const;
/** The controller's pg pool size (db/connect.ts); the floor gets the same number of connections. */
const PG_POOL = 10;
const DRAIN_TIMEOUT_MS = 120_000;

interface RunResult {
  submissions: number;
  jobsPerSec: number;
  latencies: Float64Array;
  /** Database statements per submission (PostgreSQL only; NaN otherwise). */
  statementsPerSub: number;
  /** CPU time of this process (controller or floor; not the HTTP clients, not the servers) per submission. */
  cpuMsPerSub: number;
}

function sqliteExec(db: SQLite.Database): SqlExec {
  return {
    dialect: 'sqlite',
    async query<T>(sql: string) {
      const st = db.prepare(sql);
      if (st.reader) return st.all() as T[];
      st.run();
      return [];
    },
  };
}

async function withExec<T>(dialect: Dialect, url: string, fn: (x: SqlExec) => Promise<T>): Promise<T> {
  if (dialect === 'sqlite') {
    const db = new SQLite(url);
    db.pragma('busy_timeout = 5000');
    try {
      return await fn(sqliteExec(db));
    } finally {
      db.close();
    }
  }
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  const c = new pg.Client({ connectionString: u.toString(), ...(schema ? { options: `-c search_path="${schema}"` } : {}) });
  await c.connect();
  try {
    return await fn({ dialect: 'postgres', query: async <R>(sql: string) => (await c.query(sql)).rows as R[] });
  } finally {
    await c.end();
  }
}

function dbUrl(scope: Scope, dialect: Dialect, name: string): string {
  return dialect === 'sqlite' ? join(scope.tempDir('buildbox-bench-db-'), `${name}.db`) : scope.pgSchemaUrl().url;
}

function queuesOf(suite: string): Array<{ queue: string; key: string }> {
  return BENCH_ARCHES.map((a) => ({ queue: buildQueueName('Debian', a.name, suite, 'deb'), key: buildRoutingKey('Debian', a.name, suite, 'deb') }));
}

/** Message counts of the run's queues: every published message must have arrived. */
async function checkQueues(suite: string, expected: (queueIndex: number) => number): Promise<void> {
  const conn = await amqp.connect(AMQP_URL, { noDelay: true });
  conn.on('error', () => {});
  try {
    for (const [i, { queue }] of queuesOf(suite).entries()) {
      const expectedHere = expected(i);
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      const q = await ch.checkQueue(queue);
      await ch.close().catch(() => {});
      if (q.messageCount < expectedHere) {
        throw new Error(`queue ${queue} holds ${q.messageCount} messages, expected ${expectedHere}`);
      }
    }
  } finally {
    await conn.close().catch(() => {});
  }
}

// ---------------------------------------------------------------- the controller

interface ControllerUnderTest {
  c: Controller;
  dialect: Dialect;
  url: string;
  lookups: Lookups;
}

async function startBenchController(scope: Scope, dialect: Dialect, seedPackages: number): Promise<ControllerUnderTest> {
  const url = dbUrl(scope, dialect, 'controller');
  const c = await startController({
    db: url,
    amqp: AMQP_URL,
    port: 0,
    dataDir: scope.tempDir('buildbox-bench-data-'),
    adminPassword: ADMIN_PASSWORD,
    logLevel: 'silent',
  });
  scope.onCleanup(() => c.close());
  await waitUntil('the controller to connect to RabbitMQ', () => c.link?.isConnected() ?? false, 15_000, 10);
  const l = await withExec(dialect, url, async (x) => {
    const l = await lookups(x);
    await seedAndAnalyze(x, l, seedPackages);
    return l;
  });
  return { c, dialect, url, lookups: l };
}

async function drained(c: Controller): Promise<boolean> {
  return (c.publisher?.stats().inFlight ?? 0) === 0 && (await c.publisher!.pendingCount()) === 0;
}

async function runController(scope: Scope, t: ControllerUnderTest, concurrency: number, ms: number, tag: string): Promise<RunResult> {
  const suite = uniqueName(`bench_${tag}`).toLowerCase();
  scope.trackQueue(...queuesOf(suite).map((q) => q.queue));
  await withExec(t.dialect, t.url, (x) => createSuite(x, t.lookups, suite));
  const prefix = suite.replace(/_/g, '-');
  progress(`controller ${t.dialect} ${tag}: ${concurrency} client(s) for ${ms} ms`);
  await waitUntil('an empty outbox before the run', () => drained(t.c), DRAIN_TIMEOUT_MS, 5);
  let st0 = 0;
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  const load: LoadResult = await runLoad({
    url: `${t.c.url}/job/vcshook`,
    headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` },
    form: {
      package: `${prefix}-{i}`,
      package_version: '1.0-1',
      suite,
      distribution: 'Debian',
      format: 'deb',
      architecture_list: 'any',
      method: 'git',
      uri: `http://git.invalid/${prefix}-{i}.git`,
      vcs_id: 'abc',
    },
    concurrency,
    durationMs: ms,
    maxRequests: 1_000_000,
  }, () => {
    st0 = pgStatements();
    t0 = performance.now();
    cpu0 = process.cpuUsage();
  });
  const st1 = pgStatements();
  progress(`  ${load.count} submissions sent (${load.errors} failed); waiting for the outbox to drain`);
  await waitUntil('the outbox to drain', () => drained(t.c), DRAIN_TIMEOUT_MS, 2);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (load.errors > 0) throw new Error(`${load.errors} of ${load.count} submissions failed; first: ${load.firstError}`);
  // The drain loop's own count queries are not the controller's work; publishing and marking
  // sent during the load are. Statements after the load ended are left out.
  await checkQueues(suite, () => load.count);
  await scope.deleteQueues();
  return {
    submissions: load.count,
    jobsPerSec: (load.count * JOBS_PER_SUBMISSION * 1000) / elapsed,
    latencies: load.latencies,
    statementsPerSub: t.dialect === 'postgres' ? (st1 - st0) / Math.max(1, load.count) : NaN,
    cpuMsPerSub: (cpu.user + cpu.system) / 1000 / Math.max(1, load.count),
  };
}

// ---------------------------------------------------------------- the floor

interface FloorUnderTest {
  dialect: Dialect;
  url: string;
  lookups: Lookups;
}

async function prepareFloorDb(scope: Scope, dialect: Dialect, seedPackages: number): Promise<FloorUnderTest> {
  const url = dbUrl(scope, dialect, 'floor');
  const db = await openDatabase(url);
  try {
    await seed(db, { adminPassword: ADMIN_PASSWORD });
  } finally {
    await db.close();
  }
  const l = await withExec(dialect, url, async (x) => {
    const l = await lookups(x);
    await seedAndAnalyze(x, l, seedPackages);
    return l;
  });
  return { dialect, url, lookups: l };
}

async function runFloor(scope: Scope, f: FloorUnderTest, concurrency: number, ms: number, tag: string): Promise<RunResult> {
  const suite = uniqueName(`floor_${tag}`).toLowerCase();
  const queues = queuesOf(suite);
  scope.trackQueue(...queues.map((q) => q.queue));
  const suiteId = await withExec(f.dialect, f.url, (x) => createSuite(x, f.lookups, suite));
  const target = { suite, suiteId, lookups: f.lookups, prefix: suite.replace(/_/g, '-') };
  const writer: FloorWriter =
    f.dialect === 'sqlite' ? sqliteFloorWriter(f.url, target) : pgFloorWriter(f.url, target, Math.min(concurrency, PG_POOL));
  const pub = await ConfirmedPublisher.open();
  progress(`floor ${f.dialect} ${tag}: ${concurrency} client(s) for ${ms} ms`);
  try {
    for (const q of queues) await pub.declare(q.queue, q.key);
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const deadline = t0 + ms;
    const client = async () => {
      while (performance.now() < deadline) {
        const i = next++;
        const s = performance.now();
        const msgs = await writer.write(i);
        await pub.publish(msgs[0]!);
        latencies.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
    const elapsed = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const statements = writer.statements();
    // The floor publishes the master arch's message (the first queue) once per submission.
    await checkQueues(suite, (i) => (i === 0 ? latencies.length : 0));
    await scope.deleteQueues();
    return {
      submissions: latencies.length,
      jobsPerSec: (latencies.length * JOBS_PER_SUBMISSION * 1000) / elapsed,
      latencies: Float64Array.from(latencies),
      statementsPerSub: f.dialect === 'postgres' ? statements / Math.max(1, latencies.length) : NaN,
      cpuMsPerSub: (cpu.user + cpu.system) / 1000 / Math.max(1, latencies.length),
    };
  } finally {
    await pub.close();
    await writer.close();
  }
}

// ---------------------------------------------------------------- the section

async function pgRoundTripMs(): Promise<number> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    for (let i = 0; i < 200; i++) await c.query('SELECT 1');
    const t: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = performance.now();
      await c.query('SELECT 1');
      t.push(performance.now() - s);
    }
    return percentile(t, 50);
  } finally {
    await c.end();
  }
}

export async function controllerSection(scope: Scope, opts: ControllerBenchOptions): Promise<SectionResult> {
  installPgCounter();
  const rows: Row[] = [];
  const notes: string[] = [];
  const ms = opts.seconds * 1000;
  const label = { sqlite: 'SQLite', postgres: 'PostgreSQL' } as const;
  for (const dialect of opts.dialects) {
    progress(`${dialect}: preparing databases (seed ${opts.seedPackages} submissions, ANALYZE)`);
    const floorDb = await prepareFloorDb(scope, dialect, opts.seedPackages);
    const ctl = await startBenchController(scope, dialect, opts.seedPackages);
    // Warm-up (JIT, statement caches, queue declares) on both sides; not measured.
    await runFloor(scope, floorDb, 4, Math.min(1000, ms), 'warm');
    await runController(scope, ctl, 4, Math.min(1000, ms), 'warm');
    const byC = new Map<number, { ctl: RunResult; floor: RunResult }>();
    for (const c of CONCURRENCY) {
      const floor = await runFloor(scope, floorDb, c, ms, `c${c}`);
      const got = await runController(scope, ctl, c, ms, `c${c}`);
      byC.set(c, { ctl: got, floor });
      rows.push({
        figure: `${label[dialect]}: vcshook, ${c} client${c > 1 ? 's' : ''} (${got.submissions} subs)`,
        value: got.jobsPerSec,
        unit: 'jobs/s',
        floor: floor.jobsPerSec,
        goal: dialect === 'sqlite' ? { kind: 'ratio-min', min: 0.5, alsoMin: 1000 } : { kind: 'ratio-min', min: 0.5 },
      });
    }
    const c16 = byC.get(16)!;
    rows.push({
      figure: `${label[dialect]}: CPU per submission (16 clients)`,
      value: c16.ctl.cpuMsPerSub,
      unit: 'ms',
      floor: c16.floor.cpuMsPerSub,
      goal: { kind: 'none' },
    });
    const seq = byC.get(1)!;
    for (const p of [50, 99]) {
      rows.push({
        figure: `${label[dialect]}: p${p} latency, one submission`,
        value: percentile(seq.ctl.latencies, p),
        unit: 'ms',
        floor: percentile(seq.floor.latencies, p),
        goal: { kind: 'none' },
      });
    }
    if (dialect === 'postgres') {
      rows.push({
        figure: 'PostgreSQL: statements per submission',
        value: c16.ctl.statementsPerSub,
        unit: 'stmts',
        floor: c16.floor.statementsPerSub,
        goal: { kind: 'none' },
      });
      rows.push({ figure: 'PostgreSQL: one round trip (SELECT 1, p50)', value: await pgRoundTripMs(), unit: 'ms', floor: null, goal: { kind: 'none' } });
    }
    await ctl.c.close();
    await sleep(50);
  }
  notes.push(
    `each run: ${opts.seconds} s of submissions (unique package names, arch list \`any\` over a suite with ${BENCH_ARCHES.length} arches → ${JOBS_PER_SUBMISSION} jobs each), timed until every outbox row is confirmed by RabbitMQ and marked sent; queues checked to hold every message`,
    `floor: the same rows (package, per arch: packageinstance, job, Waiting history, buildrequest, outbox message) in one transaction straight through the driver, then one publish awaited until confirmed; no HTTP. SQLite: prepared statements; PostgreSQL: BEGIN + one multi-row INSERT per table + COMMIT, ${PG_POOL} connections at most (as the controller's pool)`,
    `both databases seeded with ${opts.seedPackages} finished submissions and ANALYZEd before measuring; HTTP clients run in a separate process with keep-alive connections`,
    `CPU per submission: CPU time of the bench process (the controller, or the floor's driver and AMQP client) over the run, divided by submissions; the database and broker servers and the HTTP clients are not in it, so it is the figure least disturbed by other load on the machine`,
    `statements per submission: everything the process sent to PostgreSQL while the load ran (requests, outbox publisher), divided by submissions (16-client run)`,
  );
  return { rows, notes };
}
