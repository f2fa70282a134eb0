// End-to-end harness: real worker processes (`node dist/cli.js worker`), real RabbitMQ, tiny
// source packages served over local HTTP as git repositories and .dsc URLs.
// Needs dist/cli.js: `npm test` builds it first (`npm run build:cli`).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import { tag } from '../../src-shared/jsonpickle';
import { buildQueueName, buildRoutingKey, cancelRequest, type BuildRequest, type Job } from '../../src-shared/pybit-models';
import { AMQP_TEST_URL } from '../helpers/db';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export function assertCliBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build:cli' first (npm test does)`);
}

export interface Proc {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first output line matching `re`. */
  waitFor(re: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const procs = new Set<Proc>();

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  assertCliBuilt();
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const onLine = (l: string) => {
    lines.push(l);
    if (process.env.BUILDBOX_TEST_VERBOSE) process.stderr.write(`${new Date().toISOString().slice(11, 23)} [${child.pid}] ${l}\n`);
    for (const w of [...waiters]) {
      if (w.re.test(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const p: Proc = {
    child,
    lines,
    waitFor(re) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        void exited.then(() => setTimeout(() => reject(new Error(`process exited before printing ${re}; output:\n${lines.join('\n')}`)), 100));
      });
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(t);
      }
      procs.delete(p);
    },
  };
  procs.add(p);
  return p;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...procs].map((p) => p.stop()));
}

export interface WorkerArgs {
  clientId: string;
  suite: string;
  buildroot: string;
  controller?: string;
  token?: string;
  arch: string;
  backend?: string;
  slots?: number;
  extra?: string[];
}

export function startWorker(w: WorkerArgs): Proc {
  return runCli([
    'worker',
    '--amqp',
    AMQP_TEST_URL,
    '--client-id',
    w.clientId,
    '--suite',
    w.suite,
    '--arch',
    w.arch,
    '--buildroot',
    w.buildroot,
    '--backend',
    w.backend ?? 'dpkg',
    '--slots',
    String(w.slots ?? 1),
    '--kill-timeout-seconds',
    '1',
    '--heartbeat-seconds',
    '1',
    ...(w.controller ? ['--controller', w.controller] : []),
    ...(w.token ? ['--token', w.token] : []),
    ...(w.extra ?? []),
  ]);
}

/** A test's own AMQP connection: publishes as pyBit's web does and inspects queues. */
export class Broker {
  private constructor(
    private readonly conn: ChannelModel,
    private readonly ch: Channel,
  ) {}

  static async connect(): Promise<Broker> {
    const conn = await amqp.connect(AMQP_TEST_URL, { noDelay: true });
    conn.on('error', () => {});
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await ch.assertExchange('pybit', 'direct', { durable: true, autoDelete: false });
    return new Broker(conn, ch);
  }

  /** Declare + bind the build queue, then publish (pyBit §4: persistent, mandatory). */
  async publishBuild(req: BuildRequest): Promise<void> {
    const pi = req.job.packageinstance;
    const q = buildQueueName(pi.distribution.name, pi.arch.name, pi.suite.name, pi.format.name);
    const key = buildRoutingKey(pi.distribution.name, pi.arch.name, pi.suite.name, pi.format.name);
    await this.ch.assertQueue(q, { durable: true, exclusive: false, autoDelete: false });
    await this.ch.bindQueue(q, 'pybit', key);
    this.ch.publish('pybit', key, Buffer.from(JSON.stringify(req)), { persistent: true, mandatory: true });
  }

  async publishCancel(job: Job, clientName: string, webHost: string): Promise<void> {
    this.ch.publish('pybit', clientName, Buffer.from(JSON.stringify(cancelRequest(job, webHost))), { persistent: true });
  }

  async messageCount(queue: string): Promise<number> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => {});
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } finally {
      await ch.close().catch(() => {});
    }
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.ch.deleteQueue(queue).catch(() => {});
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => {});
  }
}

export function jobOf(req: BuildRequest): Job {
  return req.job;
}

export function withWebHost(req: BuildRequest, webHost: string): BuildRequest {
  return { ...req, web_host: webHost };
}

export function withJobId(req: BuildRequest, id: number): BuildRequest {
  return { ...req, job: tag('Job', { ...req.job, id }) as Job };
}

/** Polls until `cond` holds (the test's timeout bounds the wait). */
export async function until(cond: () => boolean | Promise<boolean>, intervalMs = 100): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, intervalMs));
}
