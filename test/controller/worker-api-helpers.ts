// Shared set-up for the worker API tests: a controller with a suite of its own, a job submitted
// through the pyBit hook, a worker token, and small request helpers for the worker endpoints.
import { hashToken, newToken } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import type { ControllerConfig } from '../../src-main/controller/context';
import { workerPaths } from '../../src-shared/worker-api';
import { hookForm, setupSuite, startTestController, type Res, type StartOpts, type TestController } from '../helpers/controller';
import { uniqueName, type TestDb } from '../helpers/db';

export interface WorkerTest {
  t: TestController;
  suite: string;
  arch: string;
  token: string;
  auth: { header: string };
  /** Submits one package for the test's suite and arch; returns the new job id. */
  submit(pkg?: string, version?: string): Promise<number>;
  claim(jobId: number, worker: string): Promise<Res>;
  heartbeat(jobId: number, worker: string): Promise<Res>;
  finish(jobId: number, body: Record<string, unknown>): Promise<Res>;
  putLog(jobId: number, worker: string, offset: number, data: string | Buffer, contentType?: string): Promise<Res>;
  close(): Promise<void>;
}

/** Live-tunes the controller: the sweeper and claim read these on every use. */
export function tune(t: TestController, over: Partial<ControllerConfig>): void {
  Object.assign(t.c.ctx.config, over);
}

export async function startWorkerTest(make: () => TestDb, opts: StartOpts = {}): Promise<WorkerTest> {
  const t = await startTestController(make, opts);
  tune(t, { sweepIntervalMs: 100 });
  const suite = uniqueName('wsuite');
  const arch = uniqueName('warch');
  await setupSuite(t, suite, [{ name: arch, weight: 1 }]);
  const token = newToken();
  await t.kysely
    .insertInto('tokens')
    .values({ user_id: null, name: 'test-worker', kind: 'worker', token_hash: hashToken(token), created_at: nowText(), revoked_at: null })
    .execute();
  const auth = { header: `Bearer ${token}` };
  let n = 0;
  return {
    t,
    suite,
    arch,
    token,
    auth,
    async submit(pkg = `pkg${++n}`, version = '1.0-1') {
      const before = await t.kysely.selectFrom('job').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
      const r = await t.post('/job/vcshook', hookForm({ package: pkg, package_version: version, suite, architecture_list: arch }));
      if (r.status !== 200) throw new Error(`vcshook: ${r.status} ${r.text}`);
      const row = await t.kysely
        .selectFrom('job')
        .select('id')
        .where('id', '>', Number(before?.m ?? 0))
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      return row.id;
    },
    claim: (jobId, worker) => t.req('POST', workerPaths.claim(jobId), { json: { worker }, auth }),
    heartbeat: (jobId, worker) => t.req('POST', workerPaths.heartbeat(jobId), { json: { worker }, auth }),
    finish: (jobId, body) => t.req('POST', workerPaths.finish(jobId), { json: body, auth }),
    putLog: (jobId, worker, offset, data, contentType = 'application/octet-stream') =>
      t.req('PUT', `${workerPaths.log(jobId)}?offset=${offset}&worker=${encodeURIComponent(worker)}`, { raw: data, contentType, auth }),
    close: () => t.close(),
  };
}

/** Outbox rows that carry a BuildRequest for `jobId` (CancelRequests have no queue). */
export async function buildMessages(t: TestController, jobId: number): Promise<number> {
  const rows = await t.kysely.selectFrom('outbox').select('id').where('job_id', '=', jobId).where('queue', 'is not', null).execute();
  return rows.length;
}
