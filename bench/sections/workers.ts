// Issue 4: the worker side of the farm, each figure beside a floor measured in the same run.
//  (a) throughput of no-op builds (`--backend dry-run --dry-run`) with 1 and 4 local worker
//      processes, beside raw AMQP publish → consume (prefetch 1, ack each) of as many messages;
//  (b) build overhead: one generated source package (test/fixtures/make-package.ts) built through
//      the whole system (controller + worker with the dpkg backend, submit → Done) vs building the
//      same .dsc by hand (dpkg-source -x, dpkg-buildpackage), medians of the runs; and, where
//      sbuild and a chroot tarball for bookworm exist, Debian's `hello` through the system with
//      the sbuild backend vs the same sbuild command run bare;
//  (c) cancel latency: POST /api/v1/jobs/:id/cancel → Cancelled for running builds whose build
//      step ignores SIGINT and SIGTERM, beside the worker's heartbeat period (the only path a
//      cancel would have without the CancelRequest on the worker's command queue).
// Tuning: BENCH_WORKER_JOBS (no-op builds per run, default 200), BENCH_BUILD_RUNS (9: single runs of a one-second build vary by ±10%),
// BENCH_CANCELS (10), BENCH_SBUILD_RUNS (hello builds on each side, default 1; 0 skips them),
// BENCH_SBUILD_CHROOTS (directory with bookworm-<arch>.tar.zst, default /var/cache/buildbox-chroots).
import amqp from 'amqplib';
import http from 'node:http';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startController, type Controller } from '../../src-main/controller/controller';
import { hashToken, newToken } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import { buildQueueName } from '@shared/pybit-models';
import { listProcesses } from '../../src-worker/process-table';
import { dpkgBuildpackageArgs } from '../../src-worker/backends/dpkg';
import { sbuildArgs } from '../../src-worker/backends/sbuild';
import { findChroot, tarballFileName } from '../../src-worker/chroots';
import { DEFAULT_MIRROR, privateAptOptions } from '../../src-worker/fetch/apt';
import { debBuildOptions } from '../../src-worker/backends/build-options';
import { makeSourcePackage } from '../../test/fixtures/make-package';
import { serveDirectory } from '../../test/fixtures/static-server';
import { AMQP_URL, uniqueName, type Scope } from '../lib/env';
import { percentile, sleep, waitUntil } from '../lib/stats';
import type { Row, SectionResult } from '../lib/report';
import { workerCommandExists } from './dispatch';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const ADMIN_PASSWORD = 'bench-admin';
const AUTH = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
const FINISHED = new Set(['Done', 'Uploaded', 'Cancelled', 'Failed']);
const HOST_ARCH = execFileSync('dpkg', ['--print-architecture']).toString().trim();

export interface WorkersBenchOptions {
  /** No-op builds per throughput run. */
  jobs: number;
  /** Runs of each side of the build-overhead comparison. */
  buildRuns: number;
  /** Builds cancelled for the cancel latency. */
  cancels: number;
}

const median = (xs: number[]) => percentile(xs, 50);

// ---- a controller with its own events as the clock ----

interface Farm {
  c: Controller;
  token: string;
  suite: string;
  queue: string;
  agent: http.Agent;
  /** performance.now() of each job's first Building and of its final status, from the controller's events. */
  claimed: Map<number, number>;
  finished: Map<number, { status: string; at: number }>;
  lastCreated: number | null;
  submit(form: Record<string, string>): Promise<number>;
  post(path: string, form?: Record<string, string>): Promise<string>;
}

async function startFarm(scope: Scope, opts: { leaseSeconds?: number } = {}): Promise<Farm> {
  const dataDir = scope.tempDir('buildbox-bench-workers-');
  const c = await startController({
    db: join(dataDir, 'controller.db'),
    amqp: AMQP_URL,
    port: 0,
    dataDir,
    adminPassword: ADMIN_PASSWORD,
    logLevel: 'silent',
    leaseSeconds: opts.leaseSeconds,
  });
  scope.onCleanup(() => c.close());
  const k = c.ctx.db.kysely;
  const suite = uniqueName('bench_workers').toLowerCase();
  const queue = buildQueueName('Debian', HOST_ARCH, suite, 'deb');
  scope.trackQueue(queue);
  await k.insertInto('arch').values({ name: HOST_ARCH }).onConflict((oc) => oc.column('name').doNothing()).execute();
  await k.insertInto('suite').values({ name: suite }).execute();
  const archId = (await k.selectFrom('arch').select('id').where('name', '=', HOST_ARCH).executeTakeFirstOrThrow()).id;
  const suiteId = (await k.selectFrom('suite').select('id').where('name', '=', suite).executeTakeFirstOrThrow()).id;
  await k.insertInto('suitearches').values({ suite_id: suiteId, arch_id: archId, master_weight: 1 }).execute();
  const token = newToken();
  await k.insertInto('tokens').values({ user_id: null, name: 'bench-worker', kind: 'worker', token_hash: hashToken(token), created_at: nowText(), revoked_at: null }).execute();

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  scope.onCleanup(async () => agent.destroy());
  const farm: Farm = {
    c,
    token,
    suite,
    queue,
    agent,
    claimed: new Map(),
    finished: new Map(),
    lastCreated: null,
    async submit(form) {
      farm.lastCreated = null;
      await farm.post('/job/vcshook', { suite, distribution: 'Debian', format: 'deb', architecture_list: HOST_ARCH, ...form });
      const id = farm.lastCreated as number | null;
      if (id === null) throw new Error(`submission of ${form.package} created no job`);
      return id;
    },
    post(path, form) {
      const body = form ? new URLSearchParams(form).toString() : '';
      const u = new URL(c.url + path);
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            agent,
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            method: 'POST',
            headers: { authorization: AUTH, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve(text) : reject(new Error(`POST ${u.pathname}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
  };
  const off = c.ctx.events.on((e) => {
    const now = performance.now();
    if (e.type === 'job.created') farm.lastCreated = e.jobId;
    else if (e.type === 'job.status' && e.status === 'Building' && !farm.claimed.has(e.jobId)) farm.claimed.set(e.jobId, now);
    else if (e.type === 'job.status' && FINISHED.has(e.status) && !farm.finished.has(e.jobId)) farm.finished.set(e.jobId, { status: e.status, at: now });
  });
  scope.onCleanup(async () => off());
  return farm;
}

interface WorkerProc {
  child: ChildProcess;
  lines: string[];
}

/** `node dist/cli.js worker …` against the farm, its output kept (the last lines) for the notes and for errors. */
function startWorker(scope: Scope, farm: Farm, extra: string[]): WorkerProc {
  const clientId = uniqueName('benchw');
  scope.trackQueue(`build_client_${clientId}`);
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--controller', farm.c.url, '--token', farm.token, '--amqp', AMQP_URL, '--suite', farm.suite, '--arch', HOST_ARCH, '--client-id', clientId, '--buildroot', scope.tempDir('buildbox-bench-buildroot-'), ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const w: WorkerProc = { child, lines: [] };
  let partial = '';
  const onData = (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    w.lines.push(...parts);
    if (w.lines.length > 5000) w.lines.splice(0, w.lines.length - 5000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  scope.onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return w;
}

function checkAlive(ws: WorkerProc[]): void {
  for (const w of ws) {
    if (w.child.exitCode !== null || w.child.signalCode !== null) throw new Error(`a worker exited (${w.child.exitCode ?? w.child.signalCode}): ${w.lines.slice(-5).join(' | ')}`);
  }
}

async function queueState(queue: string): Promise<{ messages: number; consumers: number }> {
  const conn = await amqp.connect(AMQP_URL, { noDelay: true });
  conn.on('error', () => {});
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    const q = await ch.checkQueue(queue);
    return { messages: q.messageCount, consumers: q.consumerCount };
  } catch {
    return { messages: 0, consumers: 0 };
  } finally {
    await conn.close().catch(() => {});
  }
}

// ---- (a) throughput ----

/** Raw floor: `n` persistent messages already queued, drained by one push consumer with prefetch 1 that acks each. */
async function rawThroughput(scope: Scope, n: number): Promise<number> {
  const queue = uniqueName('bench_tput');
  scope.trackQueue(queue);
  const conn = await amqp.connect(AMQP_URL, { noDelay: true });
  conn.on('error', () => {});
  try {
    const pub = await conn.createConfirmChannel();
    await pub.assertQueue(queue, { durable: true, autoDelete: false });
    for (let i = 0; i < n; i++) pub.sendToQueue(queue, Buffer.from(`{"bench":${i}}`), { persistent: true });
    await pub.waitForConfirms();
    const sub = await conn.createChannel();
    await sub.prefetch(1);
    let first = 0;
    let got = 0;
    const done = new Promise<number>((resolve) => {
      void sub.consume(queue, (m) => {
        if (!m) return;
        if (got === 0) first = performance.now();
        sub.ack(m);
        if (++got === n) resolve(performance.now());
      });
    });
    const last = await done;
    // n messages were consumed between the first delivery and the last: n - 1 intervals.
    return ((n - 1) / (last - first)) * 1000;
  } finally {
    await conn.close().catch(() => {});
  }
}

/**
 * `n` no-op builds queued first, then `workers` worker processes started; jobs/s from the first
 * claim to the last final status.
 */
async function noopThroughput(scope: Scope, n: number, workers: number): Promise<{ jobsPerSecond: number; finals: Map<string, number> }> {
  const farm = await startFarm(scope);
  const prefix = farm.suite.replace(/_/g, '-');
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${i}`;
    ids.push(await farm.submit({ package: name, package_version: '1.0-1', method: 'git', uri: `http://git.invalid/${name}.git`, vcs_id: 'abc' }));
  }
  await waitUntil('the build requests to be queued', async () => (await queueState(farm.queue)).messages >= n, 60_000, 100);
  const ws: WorkerProc[] = [];
  for (let i = 0; i < workers; i++) ws.push(startWorker(scope, farm, ['--backend', 'dry-run', '--dry-run']));
  await waitUntil(
    `${n} no-op builds on ${workers} worker(s)`,
    () => {
      checkAlive(ws);
      return ids.every((id) => farm.finished.has(id));
    },
    600_000,
    5,
  );
  const first = Math.min(...ids.map((id) => farm.claimed.get(id) ?? Infinity));
  const last = Math.max(...ids.map((id) => farm.finished.get(id)!.at));
  const finals = new Map<string, number>();
  for (const id of ids) {
    const s = farm.finished.get(id)!.status;
    finals.set(s, (finals.get(s) ?? 0) + 1);
  }
  return { jobsPerSecond: ((n - 1) / (last - first)) * 1000, finals };
}

// ---- (b) build overhead, (b') hello with sbuild ----

/** A worker with `backend` (and `extra` flags) on the farm, once it consumes the farm's build queue. */
async function consumingWorker(scope: Scope, farm: Farm, backend: string, extra: string[] = []): Promise<WorkerProc> {
  const w = startWorker(scope, farm, ['--backend', backend, ...extra]);
  await waitUntil(`the ${backend} worker to consume`, async () => {
    checkAlive([w]);
    return (await queueState(farm.queue)).consumers > 0;
  }, 30_000, 100);
  return w;
}

interface Overhead {
  /** submit → final status, ms, of each timed run. */
  system: number[];
  /** The same build by hand, ms, of each timed run. */
  direct: number[];
  finals: Map<string, number>;
}

/** How one side of the comparison builds: the worker's backend, and the same build by hand. */
interface OverheadBackend {
  backend: 'dpkg' | 'sbuild';
  /** More worker flags, given the farm's suite (made before the worker starts). */
  workerArgs?(suite: string): string[];
  leaseSeconds?: number;
  /** One untimed run of each side first. */
  warmUp: boolean;
  /** How long a system build may take, and how often its end is looked for. */
  timeoutMs: number;
  pollMs: number;
  /** Copies the source package into `dir` (not timed). */
  copySource(dir: string): void;
  /** Builds the copy in `dir` by hand (timed). */
  buildByHand(dir: string): void;
}

/**
 * The package at `pkg.uri` built `runs` times through the whole system (POST /job/vcshook → final
 * status, one worker with `b.backend`) and by hand, the two sides alternating so that drift in
 * the machine's load hits both.
 */
async function buildOverhead(scope: Scope, runs: number, pkg: { name: string; version: string; uri: string }, b: OverheadBackend): Promise<Overhead> {
  const farm = await startFarm(scope, { leaseSeconds: b.leaseSeconds });
  const w = await consumingWorker(scope, farm, b.backend, b.workerArgs?.(farm.suite));
  const system: number[] = [];
  const direct: number[] = [];
  const finals = new Map<string, number>();
  const scratch = scope.tempDir(`buildbox-bench-${b.backend}-direct-`);
  for (let i = b.warmUp ? -1 : 0; i < runs; i++) {
    const t0 = performance.now();
    const id = await farm.submit({ package: pkg.name, package_version: pkg.version, method: 'dsc', uri: pkg.uri, vcs_id: '' });
    await waitUntil(`job ${id} (${pkg.name}) to finish`, () => {
      checkAlive([w]);
      return farm.finished.has(id);
    }, b.timeoutMs, b.pollMs);
    const f = farm.finished.get(id)!;
    if (i >= 0) {
      system.push(f.at - t0);
      finals.set(f.status, (finals.get(f.status) ?? 0) + 1);
    }

    const dir = join(scratch, `run${i + 1}`);
    mkdirSync(dir, { recursive: true });
    b.copySource(dir);
    const t1 = performance.now();
    b.buildByHand(dir);
    if (i >= 0) direct.push(performance.now() - t1);
    rmSync(dir, { recursive: true, force: true });
  }
  return { system, direct, finals };
}

/** A generated package (make-package.ts, variant ok) with the dpkg backend vs dpkg-source -x + dpkg-buildpackage. */
async function dpkgOverhead(scope: Scope, runs: number): Promise<Overhead> {
  const served = scope.tempDir('buildbox-bench-src-');
  const name = `bbbench-${uniqueName('o').toLowerCase().replace(/_/g, '-')}`;
  const pkg = makeSourcePackage(join(served, 'dsc'), { name, variant: 'ok' });
  const server = await serveDirectory(served);
  scope.onCleanup(() => server.close());
  const env = { ...process.env, LC_ALL: 'C.UTF-8' };
  return buildOverhead(scope, runs, { name, version: pkg.version, uri: `${server.url}/dsc/${name}_${pkg.version}.dsc` }, {
    backend: 'dpkg',
    warmUp: true,
    timeoutMs: 300_000,
    pollMs: 2,
    copySource: (dir) => cpSync(pkg.dir, dir, { recursive: true, filter: (src) => !src.includes('/tree') }),
    // What a developer does with the same .dsc: unpack it and run dpkg-buildpackage with the
    // arguments and DEB_BUILD_OPTIONS the dpkg backend uses for a master job.
    buildByHand(dir) {
      execFileSync('dpkg-source', ['-x', `${name}_${pkg.version}.dsc`, 'src'], { cwd: dir, stdio: 'pipe', env });
      execFileSync('dpkg-buildpackage', dpkgBuildpackageArgs({ archIndep: true }), {
        cwd: join(dir, 'src'),
        stdio: 'pipe',
        env: { ...env, DEB_BUILD_OPTIONS: debBuildOptions({ debugSymbols: false }) },
      });
    },
  });
}

const SBUILD_SUITE = 'bookworm';

/** Why the sbuild comparison cannot run here, or null when it can. */
function sbuildUnavailable(chroots: string): string | null {
  try {
    execFileSync('sbuild', ['--version'], { stdio: 'pipe' });
  } catch {
    return 'sbuild is not installed';
  }
  if (!findChroot(chroots, { suite: SBUILD_SUITE, arch: HOST_ARCH })) {
    return `no ${SBUILD_SUITE}/${HOST_ARCH} chroot tarball in ${chroots} (buildbox chroot create --suite ${SBUILD_SUITE} --arch ${HOST_ARCH})`;
  }
  return null;
}

/** `apt-get source --download-only hello` with apt confined to `dir/.apt`; returns the .dsc's name. */
function aptGetSource(dir: string, pkg: string): string {
  const state = join(dir, '.apt');
  for (const d of ['lists/partial', 'archives/partial', 'cache', 'sources.list.d', 'preferences.d']) mkdirSync(join(state, d), { recursive: true });
  writeFileSync(join(state, 'status'), '');
  writeFileSync(join(state, 'sources.list'), `deb-src ${DEFAULT_MIRROR} ${SBUILD_SUITE} main\n`);
  const opts = privateAptOptions(state);
  execFileSync('apt-get', [...opts, '-q', 'update'], { stdio: 'pipe' });
  execFileSync('apt-get', [...opts, '-q', '--download-only', '--only-source', 'source', pkg], { cwd: dir, stdio: 'pipe' });
  const dsc = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.dsc'));
  if (!dsc) throw new Error(`apt-get source ${pkg} left no .dsc`);
  return dsc;
}

/** Debian's hello with the sbuild backend vs the sbuild command line the backend runs, bare. */
async function sbuildOverhead(scope: Scope, runs: number, chroots: string): Promise<Overhead & { version: string }> {
  const tarball = findChroot(chroots, { suite: SBUILD_SUITE, arch: HOST_ARCH })!.path;
  const served = scope.tempDir('buildbox-bench-hello-');
  const dscName = aptGetSource(served, 'hello');
  const version = /^Version: (\S+)$/m.exec(readFileSync(join(served, dscName), 'utf8'))?.[1] ?? '';
  const server = await serveDirectory(served);
  scope.onCleanup(() => server.close());
  const r = await buildOverhead(scope, runs, { name: 'hello', version, uri: `${server.url}/${dscName}` }, {
    backend: 'sbuild',
    leaseSeconds: 300,
    // The farm's suite is unique to the run; a symlink named for it selects the bookworm tarball.
    workerArgs(suite) {
      const myChroots = scope.tempDir('buildbox-bench-chroots-');
      symlinkSync(tarball, join(myChroots, tarballFileName(suite, HOST_ARCH)));
      return ['--chroots', myChroots];
    },
    warmUp: false,
    timeoutMs: 1_800_000,
    pollMs: 20,
    copySource(dir) {
      mkdirSync(join(dir, 'build'));
      for (const file of readdirSync(served)) if (file.startsWith('hello_')) cpSync(join(served, file), join(dir, file));
    },
    buildByHand(dir) {
      const build = join(dir, 'build');
      const spec = { workdir: build, dsc: join(dir, dscName), arch: HOST_ARCH, suite: SBUILD_SUITE, archIndep: true, chrootTarball: tarball };
      execFileSync('sbuild', sbuildArgs(spec as Parameters<typeof sbuildArgs>[0]), {
        cwd: build,
        stdio: 'pipe',
        maxBuffer: 256 * 1024 * 1024,
        env: { ...process.env, LC_ALL: 'C.UTF-8', DEB_BUILD_OPTIONS: debBuildOptions({ debugSymbols: false }) },
      });
      if (!readdirSync(build).some((f) => f.endsWith('.changes'))) throw new Error('bare sbuild produced no .changes');
    },
  });
  return { ...r, version };
}

// ---- (c) cancel latency ----

async function cancelLatency(scope: Scope, n: number): Promise<{ latencies: number[]; heartbeatMs: number; viaCommandQueue: number; leftovers: number }> {
  const served = scope.tempDir('buildbox-bench-cxl-');
  const server = await serveDirectory(served);
  scope.onCleanup(() => server.close());
  // A 30 s lease: the worker heartbeats every min(10 s default, lease / 3) = 10 s.
  const leaseSeconds = 30;
  const heartbeatMs = Math.min(10_000, (leaseSeconds * 1000) / 3);
  const farm = await startFarm(scope, { leaseSeconds });
  // The kill timings a user gets (no --kill-timeout-seconds).
  const w = await consumingWorker(scope, farm, 'dpkg');

  const latencies: number[] = [];
  let leftovers = 0;
  const markers: string[] = [];
  scope.onCleanup(async () => {
    for (const p of listProcesses()) if (markers.some((m) => p.cmdline.includes(m))) process.kill(p.pid, 'SIGKILL');
  });
  for (let i = 0; i < n; i++) {
    const name = `bbbench-${uniqueName('c').toLowerCase().replace(/_/g, '-')}`;
    const pkg = makeSourcePackage(join(served, name), { name, variant: 'sleep' });
    markers.push(pkg.marker);
    const id = await farm.submit({ package: name, package_version: pkg.version, method: 'dsc', uri: `${server.url}/${name}/${name}_${pkg.version}.dsc`, vcs_id: '' });
    // Running: the build step's sleeping grandchild (it ignores SIGINT and SIGTERM) is there.
    await waitUntil(`job ${id}'s build to run`, () => {
      checkAlive([w]);
      return listProcesses().some((p) => p.cmdline.startsWith('sleep ') && p.cmdline.includes(pkg.marker));
    }, 120_000, 20);
    const t0 = performance.now();
    await farm.post(`/api/v1/jobs/${id}/cancel`);
    await waitUntil(`job ${id} to be Cancelled`, () => farm.finished.has(id), 120_000, 2);
    const f = farm.finished.get(id)!;
    if (f.status !== 'Cancelled') throw new Error(`job ${id} ended ${f.status}, not Cancelled`);
    latencies.push(f.at - t0);
    if (listProcesses().some((p) => p.cmdline.includes(pkg.marker) && p.state !== 'Z')) leftovers++;
    // Idle again before the next one.
    await waitUntil('the worker to go idle', () => w.lines.some((l) => l.includes(`job ${id}: Cancelled`)), 60_000, 10);
  }
  const viaCommandQueue = w.lines.filter((l) => /job \d+: cancel requested; stopping the build/.test(l)).length;
  return { latencies, heartbeatMs, viaCommandQueue, leftovers };
}

// ---- the section ----

export async function workersSection(scope: Scope, opts: WorkersBenchOptions): Promise<SectionResult> {
  const rows: Row[] = [];
  const notes: string[] = [];
  if (!workerCommandExists()) {
    return { rows: [{ figure: 'workers', value: null, unit: '', floor: null, goal: { kind: 'none' }, note: 'not measured: worker command missing' }], notes: ['`node dist/cli.js worker --help` does not show a worker command'] };
  }

  // (a)
  const floor = await rawThroughput(scope, opts.jobs);
  await scope.deleteQueues();
  rows.push({ figure: `raw AMQP publish → consume+ack, prefetch 1 (${opts.jobs} msgs)`, value: floor, unit: 'msg/s', floor: null, goal: { kind: 'none' } });
  for (const n of [1, 4]) {
    try {
      const r = await noopThroughput(scope, opts.jobs, n);
      rows.push({ figure: `no-op builds, ${n} worker process${n > 1 ? 'es' : ''} (${opts.jobs} jobs)`, value: r.jobsPerSecond, unit: 'jobs/s', floor, goal: { kind: 'none' } });
      notes.push(`throughput, ${n} worker(s): jobs ended ${[...r.finals].map(([s, k]) => `${s} ×${k}`).join(', ')}`);
    } catch (e) {
      rows.push({ figure: `no-op builds, ${n} worker process(es)`, value: null, unit: 'jobs/s', floor, goal: { kind: 'none' }, note: `not measured: ${(e as Error).message.slice(0, 100)}` });
      notes.push(`throughput, ${n} worker(s) failed: ${(e as Error).message}`);
    }
    await scope.deleteQueues();
  }
  notes.push(
    "throughput: the jobs are submitted and queued first, then the worker processes ('buildbox worker --backend dry-run --dry-run', one slot each) start; " +
      'jobs/s from the first claim to the last final status (controller events). Floor: the same number of persistent messages, already queued, drained by one push consumer (prefetch 1, ack each)',
  );

  // (b)
  try {
    const r = await dpkgOverhead(scope, opts.buildRuns);
    const sys = median(r.system);
    const dir = median(r.direct);
    rows.push({ figure: `dpkg-source -x + dpkg-buildpackage, median of ${r.direct.length}`, value: dir, unit: 'ms', floor: null, goal: { kind: 'none' } });
    rows.push({ figure: `whole system submit → Done, median of ${r.system.length}`, value: sys, unit: 'ms', floor: dir, goal: { kind: 'ratio-max', max: 1.05 } });
    notes.push(
      'build overhead: one generated package (make-package.ts, variant ok) served as a .dsc over local HTTP; whole system = POST /job/vcshook → Done ' +
        "(controller on SQLite + RabbitMQ, one 'buildbox worker --backend dpkg': claim, fetch, dpkg-source -x, dpkg-buildpackage, log and artifact upload); " +
        `directly = dpkg-source -x and dpkg-buildpackage ${dpkgBuildpackageArgs({ archIndep: true }).join(' ')} on a copy of the same .dsc (the copy not timed); runs alternate, after one warm-up each; jobs ended ${[...r.finals].map(([s, k]) => `${s} ×${k}`).join(', ')}`,
    );
    notes.push(`build overhead: system runs ${r.system.map((x) => Math.round(x)).join(', ')} ms; direct runs ${r.direct.map((x) => Math.round(x)).join(', ')} ms`);
  } catch (e) {
    rows.push({ figure: 'whole system vs dpkg-source -x + dpkg-buildpackage', value: null, unit: 'ms', floor: null, goal: { kind: 'ratio-max', max: 1.05 }, note: `not measured: ${(e as Error).message.slice(0, 100)}` });
    notes.push(`build overhead failed: ${(e as Error).message}`);
  }
  await scope.deleteQueues();

  // (b')
  const sbuildRuns = Number(process.env.BENCH_SBUILD_RUNS ?? 1);
  const chroots = process.env.BENCH_SBUILD_CHROOTS || '/var/cache/buildbox-chroots';
  const noSbuild = sbuildRuns > 0 ? sbuildUnavailable(chroots) : 'BENCH_SBUILD_RUNS=0';
  if (noSbuild) {
    rows.push({ figure: 'hello: whole system (sbuild backend) vs bare sbuild', value: null, unit: 'ms', floor: null, goal: { kind: 'ratio-max', max: 1.05 }, note: `not measured: ${noSbuild}` });
  } else {
    try {
      const r = await sbuildOverhead(scope, sbuildRuns, chroots);
      rows.push({ figure: `hello: bare sbuild, median of ${r.direct.length}`, value: median(r.direct), unit: 'ms', floor: null, goal: { kind: 'none' } });
      rows.push({ figure: `hello: whole system submit → Done, median of ${r.system.length}`, value: median(r.system), unit: 'ms', floor: median(r.direct), goal: { kind: 'ratio-max', max: 1.05 } });
      notes.push(
        `hello ${r.version} from apt-get source (${SBUILD_SUITE}), served as a .dsc over local HTTP; whole system = POST /job/vcshook → Done with 'buildbox worker --backend sbuild' ` +
          `(unshare mode, the ${SBUILD_SUITE} tarball); bare = the same sbuild command line on a local copy of the source; jobs ended ${[...r.finals].map(([st, k]) => `${st} ×${k}`).join(', ')}; ` +
          `system runs ${r.system.map((x) => Math.round(x)).join(', ')} ms; bare runs ${r.direct.map((x) => Math.round(x)).join(', ')} ms`,
      );
    } catch (e) {
      rows.push({ figure: 'hello: whole system (sbuild backend) vs bare sbuild', value: null, unit: 'ms', floor: null, goal: { kind: 'ratio-max', max: 1.05 }, note: `not measured: ${(e as Error).message.slice(0, 100)}` });
      notes.push(`sbuild overhead failed: ${(e as Error).message}`);
    }
    await scope.deleteQueues();
  }

  // (c)
  try {
    const r = await cancelLatency(scope, opts.cancels);
    rows.push({ figure: `cancel request → Cancelled, p50 (${r.latencies.length} builds)`, value: median(r.latencies), unit: 'ms', floor: r.heartbeatMs, goal: { kind: 'ratio-max', max: 0.25, abs: 2000 } });
    rows.push({ figure: `cancel request → Cancelled, max (${r.latencies.length} builds)`, value: Math.max(...r.latencies), unit: 'ms', floor: r.heartbeatMs, goal: { kind: 'none' } });
    notes.push(
      "cancel: running dpkg builds (make-package.ts variant sleep: the build step's grandchild ignores SIGINT and SIGTERM), worker with the default kill timings; " +
        `POST /api/v1/jobs/:id/cancel → the controller's job.status Cancelled event. Floor: the worker's heartbeat period (${r.heartbeatMs} ms with a ${30} s lease), the other path a cancel has. ` +
        `Stopped through the CancelRequest on the command queue: ${r.viaCommandQueue}/${r.latencies.length}; builds with processes left after Cancelled: ${r.leftovers}`,
    );
    notes.push(`cancel runs: ${r.latencies.map((x) => Math.round(x)).join(', ')} ms`);
  } catch (e) {
    rows.push({ figure: 'cancel request → Cancelled, p50', value: null, unit: 'ms', floor: null, goal: { kind: 'ratio-max', max: 0.25, abs: 2000 }, note: `not measured: ${(e as Error).message.slice(0, 100)}` });
    notes.push(`cancel latency failed: ${(e as Error).message}`);
  }
  return { rows, notes };
}
