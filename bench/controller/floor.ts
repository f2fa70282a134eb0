// The floor for a submission: the rows process_job writes for `any` over a two-arch suite
// (package, one packageinstance, job, Waiting history row, buildrequest and outbox message per
// arch) written straight through the driver in one transaction, then one publish to RabbitMQ
// awaited until the broker confirms it. No HTTP, no query builder, no lookups.
import SQLite from 'better-sqlite3';
import pg from 'pg';
import amqp from 'amqplib';
import type { ConfirmChannel, ChannelModel } from 'amqplib';
import { buildQueueName, buildRequest, buildRoutingKey, transport, PYBIT_EXCHANGE } from '@shared/pybit-models';
import { jobModel, type JobRowFull } from '../../src-main/controller/domain/models';
import { toDbTime } from '../../src-main/controller/db/time';
import { AMQP_URL } from '../lib/env';
import type { Lookups } from './schema-setup';

export interface FloorTarget {
  suite: string;
  suiteId: number;
  lookups: Lookups;
  /** Package names: `${prefix}-${i}` (unique per run, so nothing is superseded). */
  prefix: string;
}

export interface Written {
  routingKey: string;
  body: string;
}

interface JobRowInput {
  jobId: number;
  piId: number;
  pkgId: number;
  name: string;
  master: boolean;
  arch: { id: number; name: string };
}

/** The same BuildRequest body process_job stores in the outbox. */
function messageFor(t: FloorTarget, j: JobRowInput, webHost: string): Written {
  const row: JobRowFull = {
    j_id: j.jobId,
    j_status: 'Waiting',
    bc_id: null,
    bc_name: null,
    pi_id: j.piId,
    pi_master: j.master ? 1 : 0,
    p_id: j.pkgId,
    p_name: j.name,
    p_version: '1.0-1',
    a_id: j.arch.id,
    a_name: j.arch.name,
    be_id: null,
    be_name: null,
    s_id: t.suiteId,
    s_name: t.suite,
    d_id: t.lookups.distId,
    d_name: 'Debian',
    f_id: t.lookups.formatId,
    f_name: 'deb',
  };
  const msg = buildRequest(jobModel(row), transport('git', `http://git.invalid/${j.name}.git`, 'abc'), webHost, null);
  return { routingKey: buildRoutingKey('Debian', j.arch.name, t.suite, 'deb'), body: JSON.stringify(msg) };
}

/** Arches in process_job's order: highest master_weight first; the first is the master. */
function orderedArches(l: Lookups) {
  return [...l.arches].sort((a, b) => b.weight - a.weight);
}

export interface FloorWriter {
  /** Writes submission `i` in one transaction; returns the outbox messages it wrote. */
  write(i: number): Promise<Written[]>;
  /** Statements sent to the database so far (PostgreSQL round trips). */
  statements(): number;
  close(): Promise<void>;
}

export function sqliteFloorWriter(file: string, t: FloorTarget): FloorWriter {
  const db = new SQLite(file);
  // The controller's settings (db/connect.ts).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const insPkg = db.prepare('INSERT INTO package (name, version) VALUES (?, ?) RETURNING id');
  const insPi = db.prepare(
    'INSERT INTO packageinstance (package_id, buildenv_id, arch_id, suite_id, dist_id, format_id, master) VALUES (?, NULL, ?, ?, ?, ?, ?) RETURNING id',
  );
  const insJob = db.prepare(
    "INSERT INTO job (packageinstance_id, buildclient_id, status, created_at, updated_at) VALUES (?, NULL, 'Waiting', ?, ?) RETURNING id",
  );
  const insHist = db.prepare('INSERT INTO jobstatus (job_id, status_id, time) VALUES (?, ?, ?)');
  const insReq = db.prepare('INSERT INTO buildrequest (job, method, uri, vcs_id, buildenv_name) VALUES (?, ?, ?, ?, NULL)');
  const insOut = db.prepare(
    'INSERT INTO outbox (exchange, routing_key, queue, body, persistent, job_id, created_at) VALUES (?, ?, ?, ?, 1, ?, ?)',
  );
  const arches = orderedArches(t.lookups);
  let count = 0;
  const tx = db.transaction((i: number): Written[] => {
    const name = `${t.prefix}-${i}`;
    const now = toDbTime(new Date());
    const pkgId = Number((insPkg.get(name, '1.0-1') as { id: number }).id);
    const out: Written[] = [];
    arches.forEach((a, k) => {
      const piId = Number((insPi.get(pkgId, a.id, t.suiteId, t.lookups.distId, t.lookups.formatId, k === 0 ? 1 : 0) as { id: number }).id);
      const jobId = Number((insJob.get(piId, now, now) as { id: number }).id);
      insHist.run(jobId, t.lookups.waitingId, now);
      insReq.run(jobId, 'git', `http://git.invalid/${name}.git`, 'abc');
      const m = messageFor(t, { jobId, piId, pkgId, name, master: k === 0, arch: a }, '127.0.0.1:0');
      insOut.run(PYBIT_EXCHANGE, m.routingKey, buildQueueName('Debian', a.name, t.suite, 'deb'), m.body, jobId, now);
      out.push(m);
    });
    count += 1 + arches.length * 5;
    return out;
  });
  return {
    write: async (i) => tx(i),
    statements: () => count,
    close: async () => void db.close(),
  };
}

/**
 * PostgreSQL: BEGIN, one multi-row INSERT per table (package, packageinstance, job, jobstatus,
 * buildrequest, outbox), COMMIT — 8 round trips, named (prepared) statements. `poolSize`
 * matches the controller's pg pool (10).
 */
export function pgFloorWriter(url: string, t: FloorTarget, poolSize: number): FloorWriter {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  const pool = new pg.Pool({ connectionString: u.toString(), max: poolSize, ...(schema ? { options: `-c search_path="${schema}"` } : {}) });
  pool.on('error', () => {});
  const arches = orderedArches(t.lookups);
  const n = arches.length;
  /** `($from::t0, $from+1::t1), …` for `n` rows of the given column types. */
  const rows = (types: string[], from: number) =>
    Array.from({ length: n }, (_, r) => `(${types.map((ty, c) => `$${from + r * types.length + c}::${ty}`).join(', ')})`).join(', ');
  const sqlPi = `INSERT INTO packageinstance (package_id, buildenv_id, arch_id, suite_id, dist_id, format_id, master) SELECT $1::int, NULL::int, v.a, $2::int, $3::int, $4::int, v.m FROM (VALUES ${rows(['int', 'int'], 5)}) AS v(a, m) RETURNING id, arch_id`;
  const sqlJob = `INSERT INTO job (packageinstance_id, buildclient_id, status, created_at, updated_at) SELECT v.p, NULL::int, 'Waiting', $1::text, $1::text FROM (VALUES ${rows(['int'], 2)}) AS v(p) RETURNING id, packageinstance_id`;
  const sqlHist = `INSERT INTO jobstatus (job_id, status_id, time) SELECT v.j, $1::int, $2::text FROM (VALUES ${rows(['int'], 3)}) AS v(j)`;
  const sqlReq = `INSERT INTO buildrequest (job, method, uri, vcs_id, buildenv_name) SELECT v.j, 'git', $1::text, 'abc', NULL FROM (VALUES ${rows(['int'], 2)}) AS v(j)`;
  const sqlOut = `INSERT INTO outbox (exchange, routing_key, queue, body, persistent, job_id, created_at) SELECT '${PYBIT_EXCHANGE}', v.k, v.q, v.b, 1, v.j, $1::text FROM (VALUES ${rows(['text', 'text', 'text', 'int'], 2)}) AS v(k, q, b, j)`;
  let count = 0;
  return {
    async write(i) {
      const name = `${t.prefix}-${i}`;
      const now = toDbTime(new Date());
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        try {
          const pkg = await c.query({ name: 'f_pkg', text: 'INSERT INTO package (name, version) VALUES ($1, $2) RETURNING id', values: [name, '1.0-1'] });
          const pkgId = Number(pkg.rows[0].id);
          const pis = await c.query({
            name: 'f_pi',
            text: sqlPi,
            values: [pkgId, t.suiteId, t.lookups.distId, t.lookups.formatId, ...arches.flatMap((a, k) => [a.id, k === 0 ? 1 : 0])],
          });
          const piByArch = new Map<number, number>(pis.rows.map((r) => [Number(r.arch_id), Number(r.id)]));
          const piIds = arches.map((a) => piByArch.get(a.id)!);
          const jobs = await c.query({ name: 'f_job', text: sqlJob, values: [now, ...piIds] });
          const jobByPi = new Map<number, number>(jobs.rows.map((r) => [Number(r.packageinstance_id), Number(r.id)]));
          const jobIds = piIds.map((p) => jobByPi.get(p)!);
          await c.query({ name: 'f_hist', text: sqlHist, values: [t.lookups.waitingId, now, ...jobIds] });
          await c.query({ name: 'f_req', text: sqlReq, values: [`http://git.invalid/${name}.git`, ...jobIds] });
          const msgs = arches.map((a, k) => messageFor(t, { jobId: jobIds[k]!, piId: piIds[k]!, pkgId, name, master: k === 0, arch: a }, '127.0.0.1:0'));
          await c.query({
            name: 'f_out',
            text: sqlOut,
            values: [now, ...arches.flatMap((a, k) => [msgs[k]!.routingKey, buildQueueName('Debian', a.name, t.suite, 'deb'), msgs[k]!.body, jobIds[k]!])],
          });
          await c.query('COMMIT');
          count += 8;
          return msgs;
        } catch (e) {
          await c.query('ROLLBACK').catch(() => {});
          throw e;
        }
      } finally {
        c.release();
      }
    },
    statements: () => count,
    close: () => pool.end(),
  };
}

/** One confirm channel; publish() resolves when the broker confirms. */
export class ConfirmedPublisher {
  private constructor(
    private readonly conn: ChannelModel,
    private readonly ch: ConfirmChannel,
  ) {}

  static async open(): Promise<ConfirmedPublisher> {
    const conn = await amqp.connect(AMQP_URL, { noDelay: true });
    conn.on('error', () => {});
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertExchange(PYBIT_EXCHANGE, 'direct', { durable: true, autoDelete: false });
    return new ConfirmedPublisher(conn, ch);
  }

  /** Declares and binds a build queue as the controller's publisher does before its first publish. */
  async declare(queue: string, routingKey: string): Promise<void> {
    await this.ch.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
    await this.ch.bindQueue(queue, PYBIT_EXCHANGE, routingKey);
  }

  publish(m: Written): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no publisher confirm within 30 s')), 30_000);
      this.ch.publish(PYBIT_EXCHANGE, m.routingKey, Buffer.from(m.body, 'utf8'), { persistent: true, mandatory: true }, (err) => {
        clearTimeout(timer);
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    await this.ch.close().catch(() => {});
    await this.conn.close().catch(() => {});
  }
}
