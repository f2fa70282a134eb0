// A real controller for HTTP tests: its own database (SQLite file or PostgreSQL schema), port 0,
// a known admin password, and small helpers for form / JSON / multipart requests with or
// without Basic auth, for reading rows straight from the database, and for reading what the
// controller published on a real RabbitMQ.
import amqp from 'amqplib';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import { startController, type Controller } from '../../src-main/controller/controller';
import type { Database } from '../../src-main/controller/db/schema';
import { AMQP_TEST_URL, tempDir, type TestDb } from './db';

export const ADMIN_USER = 'admin';
export const ADMIN_PASSWORD = 'pass';

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (throws with the body in the message when it is not JSON). */
  json<T = any>(): T;
}

export type Auth = boolean | { user: string; password: string } | { header: string };

export interface ReqOpts {
  /** application/x-www-form-urlencoded body (pyBit's own encoding). */
  form?: Record<string, string | number>;
  /** application/json body. */
  json?: unknown;
  /** multipart/form-data body. */
  multipart?: Record<string, string>;
  /** A raw body, sent with `contentType`. */
  raw?: string | Buffer;
  contentType?: string;
  /** true = admin:pass; false/undefined = no Authorization header. */
  auth?: Auth;
  headers?: Record<string, string>;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export async function request(baseUrl: string, method: string, path: string, opts: ReqOpts = {}): Promise<Res> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.auth === true) headers.authorization = basic(ADMIN_USER, ADMIN_PASSWORD);
  else if (opts.auth && 'header' in opts.auth) headers.authorization = opts.auth.header;
  else if (opts.auth && 'user' in opts.auth) headers.authorization = basic(opts.auth.user, opts.auth.password);
  let body: string | Buffer | FormData | undefined;
  if (opts.form) {
    body = new URLSearchParams(Object.entries(opts.form).map(([k, v]): [string, string] => [k, String(v)])).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  } else if (opts.multipart) {
    const fd = new FormData();
    for (const [k, v] of Object.entries(opts.multipart)) fd.append(k, v);
    body = fd;
  } else if (opts.raw !== undefined) {
    body = opts.raw;
    if (opts.contentType) headers['content-type'] = opts.contentType;
  }
  const r = await fetch(baseUrl + path, { method, headers, body: body as never, redirect: 'manual' });
  const text = await r.text();
  return {
    status: r.status,
    headers: r.headers,
    text,
    json<T>(): T {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new Error(`${method} ${path}: response is not JSON (${r.status}): ${text.slice(0, 300)}`);
      }
    },
  };
}

export interface TestController {
  c: Controller;
  url: string;
  db: TestDb;
  kysely: Controller['ctx']['db']['kysely'];
  req(method: string, path: string, opts?: ReqOpts): Promise<Res>;
  get(path: string, opts?: ReqOpts): Promise<Res>;
  /** PUT with a form body and admin auth (the usual pyBit write). */
  put(path: string, form: Record<string, string | number>, auth?: Auth): Promise<Res>;
  post(path: string, form: Record<string, string | number>, auth?: Auth): Promise<Res>;
  /** Row count of a table. */
  count(table: keyof Database & string): Promise<number>;
  /** Row counts of every pyBit table plus the outbox, for "nothing half-written" checks. */
  counts(): Promise<Record<string, number>>;
  /** Id of the lookup row with this name (throws if missing). */
  idOf(table: 'arch' | 'suite' | 'distribution' | 'format' | 'status' | 'buildenv' | 'buildclients', name: string): Promise<number>;
  close(): Promise<void>;
}

export const PYBIT_TABLES = [
  'arch',
  'buildclients',
  'distribution',
  'format',
  'status',
  'suite',
  'buildenv',
  'package',
  'packageinstance',
  'job',
  'jobstatus',
  'suitearches',
  'buildenvsuitearch',
  'blacklist',
  'buildrequest',
  'outbox',
] as const;

export interface StartOpts {
  /** AMQP URL, or null (default) for a controller without a broker. */
  amqp?: string | null;
  /** pyBit's developer sample data (arches armel/i386, suite development, envs...). */
  sampleData?: boolean;
  publicHost?: string;
  publisher?: { pollMs?: number; retryBaseMs?: number };
  /** The lost BuildRequest check (off unless given: tests that purge queues turn it on). */
  lostRequestCheckMs?: number;
  lostRequestGraceMs?: number;
}

/** Starts a controller on `make()`'s database; close() stops it and drops the database. */
export async function startTestController(make: () => TestDb, opts: StartOpts = {}): Promise<TestController> {
  const db = make();
  const data = tempDir('buildbox-ctl-');
  let c: Controller;
  try {
    c = await startController({
      db: db.url,
      amqp: opts.amqp ?? null,
      port: 0,
      dataDir: data.dir,
      adminPassword: ADMIN_PASSWORD,
      sampleData: opts.sampleData ?? false,
      publicHost: opts.publicHost,
      logLevel: process.env.BUILDBOX_TEST_LOG ? 'debug' : 'silent',
      publisher: opts.publisher ?? { pollMs: 200, retryBaseMs: 200 },
      lostRequestCheckMs: opts.lostRequestCheckMs ?? 0,
      lostRequestGraceMs: opts.lostRequestGraceMs,
    });
  } catch (e) {
    await db.cleanup().catch(() => {});
    data.cleanup();
    throw e;
  }
  const k = c.ctx.db.kysely;
  const count = async (table: keyof Database & string) =>
    Number((await k.selectFrom(table as 'arch').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const t: TestController = {
    c,
    url: c.url,
    db,
    kysely: k,
    req: (method, path, o) => request(c.url, method, path, o),
    get: (path, o) => request(c.url, 'GET', path, o),
    put: (path, form, auth = true) => request(c.url, 'PUT', path, { form, auth }),
    post: (path, form, auth = true) => request(c.url, 'POST', path, { form, auth }),
    count,
    async counts() {
      const out: Record<string, number> = {};
      for (const table of PYBIT_TABLES) out[table] = await count(table);
      return out;
    },
    async idOf(table, name) {
      const r = await k.selectFrom(table as 'arch').select('id').where('name', '=', name).orderBy('id').executeTakeFirst();
      if (!r) throw new Error(`no ${table} named ${name}`);
      return r.id;
    },
    async close() {
      await c.close();
      await db.cleanup();
      data.cleanup();
    },
  };
  return t;
}

/**
 * Sets up a suite through the REST API: creates the suite and the arches that do not exist yet
 * and maps them with the given master weights. Returns the ids.
 */
export async function setupSuite(
  t: TestController,
  suite: string,
  arches: Array<{ name: string; weight: number }>,
): Promise<{ suiteId: number; archIds: Record<string, number>; suiteArchIds: Record<string, number> }> {
  const ok = (r: Res, what: string) => {
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.text}`);
  };
  ok(await t.put('/suite', { name: suite }), `create suite ${suite}`);
  const suiteId = await t.idOf('suite', suite);
  const archIds: Record<string, number> = {};
  const suiteArchIds: Record<string, number> = {};
  for (const a of arches) {
    const existing = await t.kysely.selectFrom('arch').select('id').where('name', '=', a.name).executeTakeFirst();
    if (!existing) ok(await t.put('/arch', { name: a.name }), `create arch ${a.name}`);
    archIds[a.name] = await t.idOf('arch', a.name);
    ok(await t.put('/suitearch', { suite_id: suiteId, arch_id: archIds[a.name]!, master_weight: a.weight }), `map ${suite}/${a.name}`);
    suiteArchIds[a.name] = (
      await t.kysely.selectFrom('suitearches').select('id').where('suite_id', '=', suiteId).where('arch_id', '=', archIds[a.name]!).executeTakeFirstOrThrow()
    ).id;
  }
  return { suiteId, archIds, suiteArchIds };
}

/** The vcshook form of spec §10.14, with overrides. */
export function hookForm(over: Record<string, string> = {}): Record<string, string> {
  return {
    package: 'hello',
    package_version: '1.0-1',
    suite: 'development',
    distribution: 'Debian',
    format: 'deb',
    architecture_list: 'any',
    method: 'svn',
    uri: 'http://svn/hello',
    vcs_id: '42',
    ...over,
  };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Latest status and client of each job, straight from the database. */
export async function jobStatuses(t: TestController): Promise<Map<number, string>> {
  const rows = await t.kysely.selectFrom('job').select(['id', 'status']).orderBy('id').execute();
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** Status history names of one job, in order. */
export async function history(t: TestController, jobId: number): Promise<string[]> {
  const rows = await t.kysely
    .selectFrom('jobstatus as js')
    .innerJoin('status as s', 's.id', 'js.status_id')
    .select('s.name')
    .where('js.job_id', '=', jobId)
    .orderBy('js.time')
    .orderBy('js.id')
    .execute();
  return rows.map((r) => r.name);
}

/** The test's own connection to RabbitMQ: reads queues, binds client queues, cleans up. */
export class Broker {
  private readonly queues = new Set<string>();
  private ch!: Channel;
  private constructor(private readonly conn: ChannelModel) {}

  static async open(url = AMQP_TEST_URL): Promise<Broker> {
    const conn = await amqp.connect(url, { noDelay: true });
    conn.on('error', () => {});
    const b = new Broker(conn);
    await b.fresh();
    return b;
  }

  private async fresh(): Promise<Channel> {
    this.ch = await this.conn.createChannel();
    this.ch.on('error', () => {});
    await this.ch.assertExchange('pybit', 'direct', { durable: true, autoDelete: false });
    return this.ch;
  }

  /** Remember a queue to delete in close() (queues the controller declares for the test). */
  track(...queues: string[]): void {
    for (const q of queues) this.queues.add(q);
  }

  /** Declares a queue bound to `pybit` with `routingKey` (default: its name), e.g. a client's command queue. */
  async bind(queue: string, routingKey = queue, opts: { exclusive?: boolean; durable?: boolean } = {}): Promise<void> {
    this.track(queue);
    await this.ch.assertQueue(queue, { durable: opts.durable ?? false, exclusive: opts.exclusive ?? false, autoDelete: false });
    await this.ch.bindQueue(queue, 'pybit', routingKey);
  }

  /** The queue's properties, or null when it does not exist. */
  async inspect(queue: string): Promise<{ messageCount: number; consumerCount: number } | null> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => {});
    try {
      const r = await ch.checkQueue(queue);
      await ch.close().catch(() => {});
      return { messageCount: r.messageCount, consumerCount: r.consumerCount };
    } catch {
      return null;
    }
  }

  /** Takes every message currently in `queue` (basic.get + ack until empty). */
  async drain(queue: string): Promise<GetMessage[]> {
    this.track(queue);
    const out: GetMessage[] = [];
    for (;;) {
      let m: GetMessage | false;
      try {
        m = await this.ch.get(queue, { noAck: true });
      } catch {
        await this.fresh(); // the queue does not exist (yet): the channel was closed
        return out;
      }
      if (!m) return out;
      out.push(m);
    }
  }

  /**
   * Waits until at least `n` messages were taken from `queue`, then keeps draining for
   * `settleMs` so that extra (duplicate) messages are caught too.
   */
  async take(queue: string, n: number, opts: { timeoutMs?: number; settleMs?: number } = {}): Promise<GetMessage[]> {
    const got: GetMessage[] = [];
    await waitFor(`${n} message(s) on ${queue} (have ${got.length})`, async () => {
      got.push(...(await this.drain(queue)));
      return got.length >= n;
    }, opts.timeoutMs ?? 30_000);
    const settle = opts.settleMs ?? 300;
    if (settle > 0) {
      await new Promise((r) => setTimeout(r, settle));
      got.push(...(await this.drain(queue)));
    }
    return got;
  }

  /** Is a queue held exclusively by another connection? (what /buildd/<name>/status reports) */
  async exclusiveHolder(queue: string): Promise<{ release(): Promise<void> }> {
    const conn = await amqp.connect(AMQP_TEST_URL, { noDelay: true });
    conn.on('error', () => {});
    const ch = await conn.createChannel();
    await ch.assertQueue(queue, { durable: false, exclusive: true, autoDelete: true });
    return { release: async () => void (await conn.close().catch(() => {})) };
  }

  async close(): Promise<void> {
    const ch = await this.fresh().catch(() => null);
    if (ch) for (const q of this.queues) await ch.deleteQueue(q).catch(() => {});
    await this.conn.close().catch(() => {});
  }
}

export function body(m: GetMessage): any {
  return JSON.parse(m.content.toString('utf8'));
}
