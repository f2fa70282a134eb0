// A real Buildbox controller for the worker end-to-end tests: its own SQLite file, port 0, real
// RabbitMQ, short leases and retry back-off, a worker token, and helpers to submit jobs through
// the pyBit routes and read their state from the database.
import { startController, type Controller, type ControllerOptions } from '../../src-main/controller/controller';
import { hashToken, newToken } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import { AMQP_TEST_URL, tempDir } from '../helpers/db';

const ADMIN = { user: 'admin', password: 'e2e-admin-password' };
const basic = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

export interface JobState {
  id: number;
  status: string;
  result: string | null;
  details: string | null;
  client: string | null;
  history: string[];
}

/** The statuses a job does not leave. */
export const FINAL_STATUSES = ['Done', 'Failed', 'Cancelled', 'Uploaded'];

/** Controller options a test may set over the defaults below (a `dataDir` given is the caller's to remove). */
export type ControllerOverrides = Partial<ControllerOptions>;

export class TestController {
  private constructor(
    readonly c: Controller,
    readonly workerToken: string,
    private readonly cleanup: () => void,
  ) {}

  static async start(opts: { leaseSeconds?: number; controller?: ControllerOverrides } = {}): Promise<TestController> {
    const t = opts.controller?.dataDir ? { dir: opts.controller.dataDir, cleanup: () => {} } : tempDir('bb-e2e-ctl-');
    let c: Controller;
    try {
      c = await startController({
        dataDir: t.dir,
        amqp: AMQP_TEST_URL,
        port: 0,
        adminPassword: ADMIN.password,
        leaseSeconds: opts.leaseSeconds ?? 30,
        retryBaseSeconds: 1,
        retryMaxSeconds: 2,
        sweepIntervalMs: 250,
        logLevel: 'silent',
        publisher: { pollMs: 200, retryBaseMs: 200 },
        ...opts.controller,
      });
    } catch (e) {
      t.cleanup();
      throw e;
    }
    const token = newToken();
    await c.ctx.db.kysely.insertInto('tokens').values({ user_id: null, name: 'e2e worker', kind: 'worker', token_hash: hashToken(token), created_at: nowText(), revoked_at: null }).execute();
    return new TestController(c, token, t.cleanup);
  }

  get url(): string {
    return this.c.url;
  }

  /** An admin request (form body when given), the response as fetch gives it. */
  request(method: string, path: string, form?: Record<string, string>): Promise<Response> {
    return fetch(this.url + path, {
      method,
      headers: { authorization: basic, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
  }

  async call(method: string, path: string, form?: Record<string, string>): Promise<{ status: number; text: string }> {
    const r = await this.request(method, path, form);
    return { status: r.status, text: await r.text() };
  }

  /** An admin request that must answer 2xx; returns the body. */
  async ok(method: string, path: string, form?: Record<string, string>): Promise<string> {
    const r = await this.call(method, path, form);
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text}`);
    return r.text;
  }

  /** Suite and arch rows and their suitearch mapping, so that submissions are accepted. */
  async addTarget(suite: string, arch: string): Promise<void> {
    await this.ok('POST', '/suite', { name: suite });
    const db = this.c.ctx.db.kysely;
    if (!(await db.selectFrom('arch').select('id').where('name', '=', arch).executeTakeFirst())) await this.ok('POST', '/arch', { name: arch });
    const s = await db.selectFrom('suite').select('id').where('name', '=', suite).executeTakeFirstOrThrow();
    const a = await db.selectFrom('arch').select('id').where('name', '=', arch).executeTakeFirstOrThrow();
    await this.ok('POST', '/suitearch', { suite_id: String(s.id), arch_id: String(a.id), master_weight: '1' });
  }

  /** pyBit's vcshook submission; returns the new job's id. */
  async submit(p: { name: string; version: string; method: string; uri: string; vcsId?: string | null; suite: string; arch: string }): Promise<number> {
    await this.ok('POST', '/job/vcshook', {
      method: p.method,
      uri: p.uri,
      vcs_id: p.vcsId ?? '',
      distribution: 'Debian',
      architecture_list: p.arch,
      package_version: p.version,
      package: p.name,
      suite: p.suite,
      format: 'deb',
    });
    const ids = await this.jobIds(p.name, p.version);
    return ids[ids.length - 1];
  }

  async jobIds(name: string, version: string): Promise<number[]> {
    const rows = await this.c.ctx.db.kysely
      .selectFrom('job as j')
      .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
      .innerJoin('package as p', 'p.id', 'pi.package_id')
      .select('j.id')
      .where('p.name', '=', name)
      .where('p.version', '=', version)
      .orderBy('j.id')
      .execute();
    return rows.map((r) => r.id);
  }

  async job(id: number): Promise<JobState> {
    const db = this.c.ctx.db.kysely;
    const j = await db
      .selectFrom('job as j')
      .leftJoin('buildclients as bc', 'bc.id', 'j.buildclient_id')
      .select(['j.id', 'j.status', 'j.result', 'j.result_details', 'bc.name as client'])
      .where('j.id', '=', id)
      .executeTakeFirstOrThrow();
    const h = await db
      .selectFrom('jobstatus as js')
      .innerJoin('status as s', 's.id', 'js.status_id')
      .select('s.name')
      .where('js.job_id', '=', id)
      .orderBy('js.id')
      .execute();
    return { id: j.id, status: j.status, result: j.result, details: j.result_details, client: j.client, history: h.map((r) => r.name) };
  }

  /** Polls every `intervalMs` until the job is final (or in one of `also`); returns its state. */
  async waitFinal(id: number, opts: { also?: string[]; intervalMs?: number } = {}): Promise<JobState> {
    for (;;) {
      const j = await this.job(id);
      if (FINAL_STATUSES.includes(j.status) || opts.also?.includes(j.status)) return j;
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
  }

  async json<T>(path: string): Promise<T> {
    return JSON.parse(await this.ok('GET', path)) as T;
  }

  async bytes(url: string): Promise<Buffer> {
    const r = await fetch(url.startsWith('http') ? url : this.url + url, { headers: { authorization: basic } });
    if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`);
    return Buffer.from(await r.arrayBuffer());
  }

  async close(): Promise<void> {
    await this.c.close();
    this.cleanup();
  }
}
