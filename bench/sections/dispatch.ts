// Issue 4: dispatch latency. The floor is the raw AMQP publish → consume round trip (amqplib,
// push consumer, Nagle off), measured in the same run; the figure is submit → claimed by an idle
// worker (`buildbox worker --backend dry-run`), read from the job's history.
import amqp from 'amqplib';
import http from 'node:http';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startController } from '../../src-main/controller/controller';
import { hashToken, newToken } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import { buildQueueName } from '@shared/pybit-models';
import { AMQP_URL, uniqueName, type Scope } from '../lib/env';
import { percentile, sleep, waitUntil } from '../lib/stats';
import type { Row, SectionResult } from '../lib/report';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const ADMIN_PASSWORD = 'bench-admin';
const FINISHED = new Set(['Done', 'Uploaded', 'Cancelled', 'Failed']);
/** Idle time between dispatched jobs (the worker goes idle again), and between paced floor rounds. */
const PACE_MS = 10;

export interface DispatchBenchOptions {
  messages: number;
  jobs: number;
  /** Upper bound on the worker run; fewer jobs are measured when it is reached. */
  workerSeconds: number;
}

/** `n` timed rounds after 50 for warm-up, idling `pauseMs` after each. */
async function sampleRounds(once: () => Promise<number>, n: number, pauseMs: number): Promise<Float64Array> {
  for (let i = 0; i < 50; i++) await once();
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = await once();
    if (pauseMs > 0) await sleep(pauseMs);
  }
  return out;
}

/**
 * Raw round trip: publish a persistent message to a durable queue, time until the push consumer
 * has it. `pauseMs` idles between messages as the dispatch run does between jobs (an idle
 * process and broker wake up more slowly than busy ones).
 */
async function rawRoundTrip(scope: Scope, n: number, pauseMs = 0): Promise<Float64Array> {
  const queue = uniqueName('bench_rtt');
  scope.trackQueue(queue);
  const pubConn = await amqp.connect(AMQP_URL, { noDelay: true });
  const subConn = await amqp.connect(AMQP_URL, { noDelay: true });
  pubConn.on('error', () => {});
  subConn.on('error', () => {});
  try {
    const pub = await pubConn.createChannel();
    const sub = await subConn.createChannel();
    await pub.assertQueue(queue, { durable: true, autoDelete: false });
    await sub.prefetch(1);
    let waiter: ((t: number) => void) | null = null;
    await sub.consume(queue, (m) => {
      const t = performance.now();
      if (m) sub.ack(m);
      waiter?.(t);
    });
    const once = () =>
      new Promise<number>((resolve) => {
        const s = performance.now();
        waiter = (t) => resolve(t - s);
        pub.sendToQueue(queue, Buffer.from('{"bench":true}'), { persistent: true });
      });
    return await sampleRounds(once, n, pauseMs);
  } finally {
    await pubConn.close().catch(() => {});
    await subConn.close().catch(() => {});
  }
}

/**
 * A bare HTTP POST round trip on a keep-alive connection to a node:http server that answers 200
 * at once: the least a submission or a claim can cost, before any database or routing work.
 */
async function bareHttpPost(n: number, pauseMs: number): Promise<Float64Array> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const once = async () => {
      const s = performance.now();
      await post(agent, `http://127.0.0.1:${port}/job/vcshook`, 'Basic eDp5', { package: 'p', package_version: '1.0-1', suite: 's' });
      return performance.now() - s;
    };
    return await sampleRounds(once, n, pauseMs);
  } finally {
    agent.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** True when dist/cli.js has a `worker` command (its help names it). */
export function workerCommandExists(): boolean {
  const r = spawnSync(process.execPath, [CLI, 'worker', '--help'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && /Usage: buildbox worker/.test(r.stdout);
}

function post(agent: http.Agent, url: string, auth: string, form: Record<string, string>): Promise<void> {
  const body = new URLSearchParams(form).toString();
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST ${u.pathname}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Submit → claimed by an idle worker, one job at a time: time from just before the POST to the
 * job's Building history row (written by the claim). The next job is submitted once the worker
 * has finished the previous one.
 */
async function workerDispatch(
  scope: Scope,
  opts: DispatchBenchOptions,
): Promise<{ latencies: number[]; posted: number[]; dispatched: number[]; stopped: string | null; finals: Map<string, number> }> {
  const dataDir = scope.tempDir('buildbox-bench-dispatch-');
  const c = await startController({ db: join(dataDir, 'controller.db'), amqp: AMQP_URL, port: 0, dataDir, adminPassword: ADMIN_PASSWORD, logLevel: 'silent' });
  scope.onCleanup(() => c.close());
  const k = c.ctx.db.kysely;
  const arch = 'amd64';
  const suite = uniqueName('bench_dispatch').toLowerCase();
  const queue = buildQueueName('Debian', arch, suite, 'deb');
  scope.trackQueue(queue);
  await k.insertInto('arch').values({ name: arch }).onConflict((oc) => oc.column('name').doNothing()).execute();
  await k.insertInto('suite').values({ name: suite }).execute();
  const archId = (await k.selectFrom('arch').select('id').where('name', '=', arch).executeTakeFirstOrThrow()).id;
  const suiteId = (await k.selectFrom('suite').select('id').where('name', '=', suite).executeTakeFirstOrThrow()).id;
  await k.insertInto('suitearches').values({ suite_id: suiteId, arch_id: archId, master_weight: 1 }).execute();
  const token = newToken();
  await k
    .insertInto('tokens')
    .values({ user_id: null, name: 'bench-worker', kind: 'worker', token_hash: hashToken(token), created_at: nowText(), revoked_at: null })
    .execute();

  const clientId = uniqueName('bench');
  scope.trackQueue(`build_client_${clientId}`);
  let stderr = '';
  const worker: ChildProcess = spawn(
    process.execPath,
    [CLI, 'worker', '--controller', c.url, '--token', token, '--amqp', AMQP_URL, '--backend', 'dry-run', '--dry-run', '--suite', suite, '--arch', arch, '--client-id', clientId, '--buildroot', scope.tempDir('buildbox-bench-buildroot-')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  worker.stderr!.on('data', (d) => (stderr = (stderr + String(d)).slice(-2000)));
  scope.onCleanup(async () => {
    if (worker.exitCode !== null) return;
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    worker.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    if (worker.exitCode === null) worker.kill('SIGKILL');
  });

  // Ready when its consumer is on the build queue.
  const conn = await amqp.connect(AMQP_URL, { noDelay: true });
  conn.on('error', () => {});
  try {
    await waitUntil(
      'the worker to consume its build queue',
      async () => {
        if (worker.exitCode !== null) throw new Error(`worker exited with code ${worker.exitCode}: ${stderr.trim()}`);
        const ch = await conn.createChannel();
        ch.on('error', () => {});
        try {
          const q = await ch.checkQueue(queue);
          await ch.close().catch(() => {});
          return q.consumerCount > 0;
        } catch {
          return false;
        }
      },
      30_000,
      100,
    );
  } finally {
    await conn.close().catch(() => {});
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const auth = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
  // The controller's own events give sub-millisecond times: job.created is emitted right after
  // the submission commits, job.status Building right after the claim commits.
  const created = new Map<number, number>();
  const claimed = new Map<number, number>();
  const finished = new Map<number, string>();
  let lastCreated: number | null = null;
  const off = c.ctx.events.on((e) => {
    const now = performance.now();
    if (e.type === 'job.created') {
      created.set(e.jobId, now);
      lastCreated = e.jobId;
    } else if (e.type === 'job.status' && e.status === 'Building' && !claimed.has(e.jobId)) {
      claimed.set(e.jobId, now);
    } else if (e.type === 'job.status' && FINISHED.has(e.status)) {
      finished.set(e.jobId, e.status);
    }
  });
  const latencies: number[] = [];
  /** Where the time goes: the POST (submission committed and answered), then commit → claim. */
  const posted: number[] = [];
  const dispatched: number[] = [];
  const finals = new Map<string, number>();
  const deadline = Date.now() + opts.workerSeconds * 1000;
  let stopped: string | null = null;
  try {
    for (let i = 0; i < opts.jobs; i++) {
      if (Date.now() > deadline) {
        stopped = `time box of ${opts.workerSeconds} s reached`;
        break;
      }
      const name = `${suite.replace(/_/g, '-')}-${i}`;
      lastCreated = null;
      const t0 = performance.now();
      await post(agent, `${c.url}/job/vcshook`, auth, {
        package: name,
        package_version: '1.0-1',
        suite,
        distribution: 'Debian',
        format: 'deb',
        architecture_list: arch,
        method: 'git',
        uri: `http://git.invalid/${name}.git`,
        vcs_id: 'abc',
      });
      posted.push(performance.now() - t0);
      const jobId = lastCreated as number | null;
      if (jobId === null) throw new Error(`submission ${name} created no job`);
      await waitUntil(
        `job ${jobId} to be built`,
        () => {
          if (worker.exitCode !== null) throw new Error(`worker exited with code ${worker.exitCode}: ${stderr.trim()}`);
          return finished.has(jobId);
        },
        60_000,
        2,
      );
      finals.set(finished.get(jobId)!, (finals.get(finished.get(jobId)!) ?? 0) + 1);
      const tClaim = claimed.get(jobId);
      if (tClaim === undefined) throw new Error(`job ${jobId} finished without becoming Building`);
      latencies.push(tClaim - t0);
      dispatched.push(tClaim - created.get(jobId)!);
      await sleep(PACE_MS); // let the worker go idle again
    }
    // Cross-check with the history the claim wrote: every measured job has a Building row.
    const withBuilding = await k
      .selectFrom('jobstatus as js')
      .innerJoin('status as s', 's.id', 'js.status_id')
      .select((eb) => eb.fn.count<number>('js.job_id').distinct().as('n'))
      .where('s.name', '=', 'Building')
      .executeTakeFirstOrThrow();
    if (Number(withBuilding.n) < latencies.length) throw new Error(`only ${withBuilding.n} jobs have a Building history row, measured ${latencies.length}`);
  } finally {
    off();
    agent.destroy();
  }
  return { latencies, posted, dispatched, stopped, finals };
}

export async function dispatchSection(scope: Scope, opts: DispatchBenchOptions): Promise<SectionResult> {
  const notes: string[] = [];
  const raw = await rawRoundTrip(scope, opts.messages);
  await scope.deleteQueues();
  const rawP50 = percentile(raw, 50);
  const rawP99 = percentile(raw, 99);
  const rows: Row[] = [
    { figure: `raw AMQP publish → consume, p50 (${opts.messages} msgs)`, value: rawP50, unit: 'ms', floor: null, goal: { kind: 'none' } },
    { figure: `raw AMQP publish → consume, p99 (${opts.messages} msgs)`, value: rawP99, unit: 'ms', floor: null, goal: { kind: 'none' } },
  ];
  notes.push('raw round trip: persistent message to a durable queue on one connection, push consumer (prefetch 1) on another, both with Nagle off');

  // What the design itself cannot go under: a submission is an HTTP POST, the message one AMQP
  // hop, the claim a second HTTP POST. Measured idling between rounds as the jobs below do.
  const pacedAmqp = percentile(await rawRoundTrip(scope, opts.messages, PACE_MS), 50);
  await scope.deleteQueues();
  const pacedHttp = percentile(await bareHttpPost(opts.messages, PACE_MS), 50);
  const hops = pacedHttp + pacedAmqp + pacedHttp;
  rows.push(
    { figure: `raw AMQP publish → consume, p50, ${PACE_MS} ms idle between`, value: pacedAmqp, unit: 'ms', floor: null, goal: { kind: 'none' } },
    { figure: `bare HTTP POST round trip, p50, ${PACE_MS} ms idle between`, value: pacedHttp, unit: 'ms', floor: null, goal: { kind: 'none' } },
    { figure: 'three hops: POST + AMQP + POST (sum of p50s)', value: hops, unit: 'ms', floor: rawP50, goal: { kind: 'none' } },
  );
  notes.push(
    'three hops: the submit → claimed path crosses two HTTP round trips (submission, claim) and one AMQP hop, each of which alone costs about the raw round trip; ' +
      'their sum, with no database, routing or build logic, is what any implementation of this protocol pays',
  );

  const p50Goal = { kind: 'ratio-max', max: 3, abs: 20 } as const;
  if (!workerCommandExists()) {
    const note = 'not measured: worker command missing';
    rows.push({ figure: 'submit → claimed by idle worker, p50', value: null, unit: 'ms', floor: rawP50, goal: p50Goal, note });
    rows.push({ figure: 'submit → claimed by idle worker, p99', value: null, unit: 'ms', floor: rawP99, goal: { kind: 'none' }, note });
    notes.push(`\`node dist/cli.js worker --help\` does not show a worker command`);
    return { rows, notes };
  }
  try {
    const r = await workerDispatch(scope, opts);
    const n = r.latencies.length;
    rows.push({ figure: `submit → claimed by idle worker, p50 (${n} jobs)`, value: percentile(r.latencies, 50), unit: 'ms', floor: rawP50, goal: p50Goal });
    rows.push({ figure: `submit → claimed by idle worker, p99 (${n} jobs)`, value: percentile(r.latencies, 99), unit: 'ms', floor: rawP99, goal: { kind: 'none' } });
    rows.push({ figure: '  of which POST (submission committed), p50', value: percentile(r.posted, 50), unit: 'ms', floor: null, goal: { kind: 'none' } });
    rows.push({ figure: '  of which commit → claimed, p50', value: percentile(r.dispatched, 50), unit: 'ms', floor: rawP50, goal: { kind: 'none' } });
    rows.push({ figure: 'submit → claimed p50 against the three hops', value: percentile(r.latencies, 50), unit: 'ms', floor: hops, goal: { kind: 'none' } });
    notes.push(
      "dispatch: controller on SQLite + one 'buildbox worker --backend dry-run --dry-run'; from just before the POST to the commit of the claim " +
        "(the controller's job.status Building event), one job at a time, the next submitted once the previous one finished; " +
        'every measured job has a Building history row',
    );
    notes.push(`dispatch: jobs ended ${[...r.finals].map(([st, n]) => `${st} ×${n}`).join(', ')}`);
    if (r.stopped) notes.push(`dispatch: stopped early (${r.stopped})`);
  } catch (e) {
    const note = `not measured: ${(e as Error).message.split('\n')[0]!.slice(0, 100)}`;
    rows.push({ figure: 'submit → claimed by idle worker, p50', value: null, unit: 'ms', floor: rawP50, goal: p50Goal, note });
    notes.push(`dispatch failed: ${(e as Error).message}`);
  }
  return { rows, notes };
}
