// Issue 5: Launchpad-style builders. Three figures, each beside a floor measured in the same run:
// * one buildd-manager scan cycle over N idle builders (launchpad-buildd faces with the dry-run
//   backend, in this process) beside the raw XML-RPC round trip (`echo` to one face);
// * `ensurepresent` of a large file from the librarian (a `buildbox serve` process's
//   GET /files/<sha1>/<name>) by a `buildbox worker --no-amqp --xmlrpc` process, in MB/s, beside
//   curl downloading the same URL to a file;
// * `status()` latency of that worker while the download runs (the original blocked on it),
//   beside its `status()` latency when idle.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startController } from '../../src-main/controller/controller';
import { BuilderClient } from '../../src-main/controller/lp/rpc-client';
import { BuilddManager } from '../../src-main/controller/lp/scanner';
import { startLpBuilder } from '../../src-worker/lp-builder/server';
import { serializeMethodCall } from '../../src-worker/lp-builder/xmlrpc';
import type { Scope } from '../lib/env';
import type { Row, SectionResult } from '../lib/report';
import { percentile, progress, waitUntil } from '../lib/stats';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);
const FACES_FLAG = '--serve-lp-faces';
const ADMIN_PASSWORD = 'bench-admin';
const AUTH = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
const ARCH = 'amd64';

export interface BuildersBenchOptions {
  builders: number;
  /** Scan cycles measured (after two warm-up cycles that make every builder CLEAN). */
  cycles: number;
  /** echo round trips for the floor. */
  echoes: number;
  fileMB: number;
  /** Downloads of each kind (the median is reported). */
  downloads: number;
}

const median = (xs: number[]) => percentile(xs, 50);

/** A child process whose output lines are kept; resolves the first line matching `re`. */
function child(scope: Scope, args: string[], env: NodeJS.ProcessEnv = {}): { proc: ChildProcess; lines: string[]; waitFor(re: RegExp, ms: number): Promise<RegExpExecArray> } {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(l));
  createInterface({ input: proc.stderr! }).on('line', (l) => lines.push(l));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  scope.onCleanup(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  });
  return {
    proc,
    lines,
    async waitFor(re, ms) {
      let m: RegExpExecArray | null = null;
      await waitUntil(`${args[0]} to print ${re}`, () => {
        if (proc.exitCode !== null) throw new Error(`${args.join(' ')} exited ${proc.exitCode}:\n${lines.join('\n')}`);
        for (const l of lines) if ((m = re.exec(l))) return true;
        return false;
      }, ms, 20);
      return m!;
    },
  };
}

function postJson(url: string, body: unknown): Promise<{ status: number; text: string }> {
  return fetch(url, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));
}

/** One XML-RPC call over a keep-alive agent with a prebuilt body: the transport's floor. */
function rawCall(agent: http.Agent, url: URL, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: '/rpc', method: 'POST', headers: { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function scanCycle(scope: Scope, opts: BuildersBenchOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const dir = scope.tempDir('buildbox-bench-builders-');
  // The controller's own scanner is off (scan interval 0): the bench runs the cycles itself.
  const c = await startController({ db: join(dir, 'buildbox.db'), amqp: null, port: 0, dataDir: dir, adminPassword: ADMIN_PASSWORD, logLevel: 'silent', scanIntervalMs: 0 });
  scope.onCleanup(() => c.close());
  // The faces live in a process of their own (as builders do on their own machines): the cycle
  // then measures the manager, not the faces' share of this event loop.
  const facesProc = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, FACES_FLAG, String(opts.builders), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const facesExited = new Promise<void>((r) => facesProc.once('exit', () => r()));
  scope.onCleanup(async () => {
    facesProc.stdin!.end();
    const t = setTimeout(() => facesProc.kill('SIGKILL'), 10_000);
    await facesExited;
    clearTimeout(t);
  });
  const faceUrls = await new Promise<string[]>((resolve, reject) => {
    createInterface({ input: facesProc.stdout! }).once('line', (l) => resolve(JSON.parse(l) as string[]));
    void facesExited.then(() => reject(new Error('the faces process exited before listing its faces')));
  });
  for (const [i, url] of faceUrls.entries()) {
    const r = await postJson(`${c.url}/api/v1/builders`, { name: `bench-${i}`, url, arch: ARCH });
    if (r.status !== 201) throw new Error(`registering builder ${i}: ${r.status} ${r.text}`);
  }
  const ids = (await c.ctx.db.kysely.selectFrom('builders').select('id').execute()).map((b) => b.id);
  const manager = new BuilddManager(c.ctx, { intervalMs: 3_600_000 });
  scope.onCleanup(() => manager.stop());
  const cycle = async () => {
    const t0 = performance.now();
    await Promise.all(ids.map((id) => manager.scanBuilder(id)));
    return performance.now() - t0;
  };
  // New builders start DIRTY: the first cycle cleans them (status → CLEAN), the next warms up.
  await cycle();
  await cycle();
  const clean = await c.ctx.db.kysely.selectFrom('builders').select(['clean_status', 'last_status']).execute();
  const notIdle = clean.filter((b) => b.clean_status !== 'CLEAN' || b.last_status !== 'BuilderStatus.IDLE').length;
  if (notIdle) throw new Error(`${notIdle} builder(s) not CLEAN and IDLE after the warm-up cycles`);
  const cycles: number[] = [];
  for (let i = 0; i < opts.cycles; i++) cycles.push(await cycle());

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const echoBody = serializeMethodCall('echo', ['x']);
  const u = new URL(faceUrls[0]!);
  for (let i = 0; i < 50; i++) await rawCall(agent, u, echoBody);
  const echoes: number[] = [];
  for (let i = 0; i < opts.echoes; i++) {
    const t0 = performance.now();
    await rawCall(agent, u, echoBody);
    echoes.push(performance.now() - t0);
  }
  agent.destroy();
  // The manager's own client (BuilderClient, node:http keep-alive) for the same echo, for the notes.
  const client = new BuilderClient(faceUrls[0]!);
  const viaClient: number[] = [];
  for (let i = 0; i < opts.echoes; i++) {
    const t0 = performance.now();
    await client.call('echo', ['x']);
    viaClient.push(performance.now() - t0);
  }
  // The cycle's XML-RPC part alone: status() to every builder at once with the manager's client.
  const clients = faceUrls.map((url) => new BuilderClient(url));
  const fanOut: number[] = [];
  for (let i = 0; i < opts.cycles; i++) {
    const t0 = performance.now();
    await Promise.all(clients.map((cl) => cl.status()));
    fanOut.push(performance.now() - t0);
  }
  const cycleP50 = median(cycles);
  const echoP50 = median(echoes);
  progress(`scan cycle p50 ${cycleP50.toFixed(2)} ms over ${opts.builders} builders; echo p50 ${echoP50.toFixed(3)} ms`);
  return {
    rows: [
      { figure: `scan cycle, ${opts.builders} idle builders (p50)`, value: cycleP50, unit: 'ms', floor: echoP50, goal: { kind: 'ratio-max', max: opts.builders } },
      { figure: `scan cycle per builder (p50 / ${opts.builders})`, value: cycleP50 / opts.builders, unit: 'ms', floor: echoP50, goal: { kind: 'none' } },
      { figure: `status() to ${opts.builders} builders at once, no DB (p50)`, value: median(fanOut), unit: 'ms', floor: echoP50, goal: { kind: 'none' } },
    ],
    notes: [
      `scan cycle: BuilddManager.scanBuilder for every registered builder at once (status(), then a dispatch attempt that finds no job), ${opts.cycles} cycles, SQLite, the faces (dry-run backend) in one other process; p99 ${percentile(cycles, 99).toFixed(2)} ms`,
      `floor: echo('x') to one face over a keep-alive socket, p50 of ${opts.echoes}; the manager's own client (BuilderClient) takes p50 ${median(viaClient).toFixed(3)} ms for the same call`,
      `goal: a cycle over N builders costs no more than N round trips made one after another`,
    ],
  };
}

async function download(scope: Scope, opts: BuildersBenchOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const dir = scope.tempDir('buildbox-bench-librarian-');
  const ctl = child(scope, ['serve', '--no-amqp', '--port', '0', '--data-dir', join(dir, 'controller'), '--scan-interval', '0', '--log-level', 'warn'], {
    BUILDBOX_ADMIN_PASSWORD: ADMIN_PASSWORD,
  });
  const ctlUrl = (await ctl.waitFor(/listening on (http:\/\/\S+)/, 60_000))[1]!;
  const workerRoot = join(dir, 'worker');
  const w = child(scope, ['worker', '--no-amqp', '--xmlrpc', '127.0.0.1:0', '--backend', 'dry-run', '--buildroot', workerRoot, '--arch-tag', ARCH]);
  const faceUrl = (await w.waitFor(/ready: XML-RPC builder (http:\/\/\S+)\/rpc/, 60_000))[1]!;

  // A file of random bytes (incompressible), written in 1 MB blocks, then stored in the librarian.
  const big = join(dir, 'big.bin');
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(big);
    out.on('error', reject);
    let i = 0;
    const more = () => {
      while (i < opts.fileMB) {
        i++;
        if (!out.write(randomBytes(1_000_000))) return void out.once('drain', more);
      }
      out.end(() => resolve());
    };
    more();
  });
  const bytes = statSync(big).size;
  const up = await run('curl', ['-sS', '-f', '-u', `admin:${ADMIN_PASSWORD}`, '-H', 'content-type: application/octet-stream', '--data-binary', `@${big}`, `${ctlUrl}/api/v1/files?name=big.bin`]);
  const info = JSON.parse(up) as { sha1: string; url: string };
  rmSync(big);
  const fileUrl = `${ctlUrl}/files/${info.sha1}/big.bin`;
  const cached = join(workerRoot, 'filecache', info.sha1);

  const client = new BuilderClient(faceUrl, { timeoutMs: 600_000 });
  const statusOnce = async () => {
    const t0 = performance.now();
    await client.status();
    return performance.now() - t0;
  };
  for (let i = 0; i < 50; i++) await statusOnce();
  const idle: number[] = [];
  for (let i = 0; i < 300; i++) idle.push(await statusOnce());

  const plain: number[] = [];
  const ensure: number[] = [];
  const during: number[] = [];
  const plainFile = join(dir, 'plain.bin');
  for (let round = 0; round < opts.downloads; round++) {
    // curl's own transfer time (its start-up is not counted), to a file as ensurepresent writes one.
    const t = Number(await run('curl', ['-sS', '-f', '-o', plainFile, '-w', '%{time_total}', fileUrl]));
    if (statSync(plainFile).size !== bytes) throw new Error('plain download: wrong size');
    rmSync(plainFile);
    plain.push(t * 1000);

    if (existsSync(cached)) rmSync(cached);
    let done = false;
    const t0 = performance.now();
    const call = client.call('ensurepresent', [info.sha1, fileUrl, '', '']).finally(() => (done = true));
    // status() one call after another for as long as the download runs.
    const poll = (async () => {
      while (!done) {
        const s = await statusOnce();
        if (!done) during.push(s);
      }
    })();
    const res = await call;
    ensure.push(performance.now() - t0);
    await poll;
    if (JSON.stringify(res) !== JSON.stringify([true, 'Download'])) throw new Error(`ensurepresent answered ${JSON.stringify(res)}`);
  }
  const mb = bytes / 1e6;
  const ensureMBs = mb / (median(ensure) / 1000);
  const plainMBs = mb / (median(plain) / 1000);
  progress(`ensurepresent ${ensureMBs.toFixed(0)} MB/s, curl ${plainMBs.toFixed(0)} MB/s; status during download p99 ${percentile(during, 99).toFixed(2)} ms (${during.length} samples)`);
  return {
    rows: [
      { figure: `ensurepresent ${opts.fileMB} MB from the librarian`, value: ensureMBs, unit: 'MB/s', floor: plainMBs, goal: { kind: 'ratio-min', min: 0.5 } },
      { figure: 'status() while downloading (p50)', value: percentile(during, 50), unit: 'ms', floor: percentile(idle, 50), goal: { kind: 'ratio-max', max: 50, abs: 50 } },
      { figure: 'status() while downloading (p99)', value: percentile(during, 99), unit: 'ms', floor: percentile(idle, 99), goal: { kind: 'ratio-max', max: 50, abs: 50 } },
    ],
    notes: [
      `ensurepresent: the XML-RPC call to a \`buildbox worker --no-amqp --xmlrpc\` process until it answers [True, 'Download'] (download to a temp file, SHA-1 checked, renamed), median of ${opts.downloads}; the librarian is a \`buildbox serve\` process`,
      `floor: curl -o <file> of the same URL (curl's time_total), median of ${opts.downloads}, in the same run; the goal allows for the SHA-1 pass ensurepresent adds`,
      `status(): one call after another from this process while ensurepresent runs (${during.length} samples), beside ${idle.length} calls while idle; goal < 50 ms (launchpad-buildd answers nothing until its download ends)`,
    ],
  };
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

export async function buildersSection(scope: Scope, opts: BuildersBenchOptions): Promise<SectionResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run bench builds it (npm run build:cli)`);
  progress(`builders: scan cycles over ${opts.builders} faces`);
  const a = await scanCycle(scope, opts);
  progress(`builders: ensurepresent of ${opts.fileMB} MB`);
  const b = await download(scope, opts);
  return { rows: [...a.rows, ...b.rows], notes: [...a.notes, ...b.notes] };
}

/** `node --import tsx builders.ts --serve-lp-faces N DIR`: N faces; prints their URLs; ends when stdin closes. */
async function serveFaces(n: number, dir: string): Promise<void> {
  const faces: Awaited<ReturnType<typeof startLpBuilder>>[] = [];
  for (let i = 0; i < n; i++) {
    const cacheDir = join(dir, `face-${i}`);
    await mkdir(cacheDir, { recursive: true });
    faces.push(await startLpBuilder({ port: 0, cacheDir, workRoot: join(cacheDir, 'work'), archTag: ARCH, backend: 'dry-run' }));
  }
  process.stdout.write(`${JSON.stringify(faces.map((f) => f.url))}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => {
    void Promise.all(faces.map((f) => f.close())).finally(() => process.exit(0));
  });
}

if (process.argv[2] === FACES_FLAG && process.argv[1] && fileURLToPath(new URL(`file://${process.argv[1]}`)) === THIS_FILE) {
  serveFaces(Number(process.argv[3]), process.argv[4]!).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
