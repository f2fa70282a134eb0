// Keeps the local worker process running: starts it, restarts it with capped exponential
// back-off when it exits without being asked to, and reports every state change (for the
// renderer's worker panel and box's /api/v1/local-worker). How the process is made is behind
// `SpawnWorker`, so the same logic runs an Electron utilityProcess in the desktop app and a plain
// child process under `buildbox box`.
import { fork, spawn, type ChildProcess, type ForkOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { WorkerState, WorkerStatus } from '@shared/desktop-bridge';
import { withDefaults } from '@shared/with-defaults';

export interface SupervisedProcess {
  readonly pid: number | undefined;
  /** The process is up. */
  onSpawn(cb: () => void): void;
  /** Called exactly once, also when the process could not be started at all. */
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  /** Each line it prints on stdout or stderr. */
  onOutput(cb: (line: string) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export type SpawnWorker = () => SupervisedProcess;

export interface WorkerSupervisorOptions {
  spawn: SpawnWorker;
  /** First restart delay (default 1 s); doubles (`factor`) per consecutive crash. */
  minDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Up this long counts as healthy: the next crash starts the back-off from the beginning. */
  healthyAfterMs?: number;
  /** After SIGTERM, how long to wait before SIGKILL on stop (the worker hands builds back). */
  stopGraceMs?: number;
  /** Lines of output kept for the state report. */
  outputLines?: number;
  /**
   * When set, a started process counts as `running` only once it prints a line for which this
   * returns the detail to show (the CLI worker's `ready: …` once it consumes its queues); until
   * then it is `starting`. Unset: `running` as soon as the process is up.
   */
  ready?: (line: string) => string | null;
  /** Each line the worker prints, as it comes (box echoes them to its own output). */
  echo?: (line: string) => void;
  /** What is reported before the first start (default `disabled`, "not started"). */
  initial?: { status: 'disabled' | 'stopped'; detail: string };
  /** The supervisor's own notes (restarts, SIGKILL after the grace period). */
  log?: (line: string) => void;
}

type Listener = (s: WorkerState) => void;

/** The CLI worker prints `[worker <name>] ready: …` once it consumes its queues: the detail to show then. */
export function workerReadyDetail(line: string): string | null {
  const m = /\] ready: (.*)$/.exec(line);
  return m ? `ready: ${m[1]}` : null;
}

/** Delay before restart number `n` (1-based) of a crash streak. */
export function backoffDelay(n: number, minMs: number, maxMs: number, factor: number): number {
  return Math.min(maxMs, Math.round(minMs * Math.pow(factor, Math.max(0, n - 1))));
}

type Defaulted = 'minDelayMs' | 'maxDelayMs' | 'factor' | 'healthyAfterMs' | 'stopGraceMs' | 'outputLines' | 'log';

/** The worker's own words in a line, without the `[worker <name>] ` prefix the CLI worker adds. */
function said(line: string): string {
  return line.replace(/^\[worker [^\]]*\] /, '').slice(0, 200);
}

export class WorkerSupervisor {
  private readonly o: Required<Pick<WorkerSupervisorOptions, Defaulted>> & WorkerSupervisorOptions;
  private proc: SupervisedProcess | null = null;
  private status: WorkerStatus = 'disabled';
  private detail = 'not started';
  private crashes = 0;
  private consecutive = 0;
  private restartIn: number | null = null;
  private lastExit: WorkerState['lastExit'] = null;
  private readonly output: string[] = [];
  /** The last line the current process printed: an exit's detail quotes it (it usually says why). */
  private lastLine: string | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private healthyTimer: NodeJS.Timeout | null = null;
  /** Set by stop(): the next exit is expected, not a crash. */
  private stopping: { final: 'stopped' | 'disabled'; detail: string } | null = null;
  private readonly exited = new Set<() => void>();
  private readonly listeners = new Set<Listener>();

  constructor(opts: WorkerSupervisorOptions) {
    // An option passed as undefined keeps its default (box hands its optional settings through).
    this.o = withDefaults(
      { minDelayMs: 1000, maxDelayMs: 60_000, factor: 2, healthyAfterMs: 30_000, stopGraceMs: 20_000, outputLines: 50, log: () => {} },
      opts,
    );
    if (opts.initial) {
      this.status = opts.initial.status;
      this.detail = opts.initial.detail;
    }
  }

  state(): WorkerState {
    return {
      status: this.status,
      pid: this.proc?.pid ?? null,
      crashes: this.crashes,
      consecutiveCrashes: this.consecutive,
      restartInMs: this.restartIn,
      lastExit: this.lastExit,
      detail: this.detail,
      recentOutput: [...this.output],
    };
  }

  onState(cb: Listener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /**
   * Starts the worker; a no-op while it is starting or running. Cancels a pending back-off.
   * `detail` describes the start until the worker is up (default "starting").
   */
  start(detail?: string): void {
    if (this.proc && (this.status === 'starting' || this.status === 'running')) return;
    if (this.proc) return; // still stopping: start() after stop() resolves
    this.clearRestart();
    this.stopping = null;
    this.launch(detail);
  }

  /**
   * Stops the worker (SIGTERM, SIGKILL after the grace period) and cancels any pending restart.
   * `final` is the status reported afterwards: `disabled` when the settings turned it off.
   */
  async stop(final: 'stopped' | 'disabled' = 'stopped', detail = final === 'disabled' ? 'turned off' : 'stopped'): Promise<void> {
    this.clearRestart();
    const p = this.proc;
    if (!p) {
      this.stopping = null;
      this.set(final, detail);
      return;
    }
    this.stopping = { final, detail };
    this.set('stopping', 'stopping (running builds are handed back)');
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => {
        this.o.log(`local worker did not stop within ${this.o.stopGraceMs} ms; killing it`);
        p.kill('SIGKILL');
      }, this.o.stopGraceMs);
      this.exited.add(() => {
        clearTimeout(kill);
        resolve();
      });
      p.kill('SIGTERM');
    });
  }

  private launch(detail?: string): void {
    this.set('starting', detail ?? (this.consecutive ? `restarting after ${this.consecutive} crash(es)` : 'starting'));
    this.lastLine = null;
    let p: SupervisedProcess;
    try {
      p = this.o.spawn();
    } catch (e) {
      this.onExited(null, null, null, `could not start: ${(e as Error).message}`);
      return;
    }
    this.proc = p;
    const startedAt = Date.now();
    let exitedOnce = false;
    let spawned = false;
    // The detail of the ready line, or (without a `ready` test) of the process being up.
    let readyDetail: string | null = null;
    const goRunning = () => {
      if (spawned && readyDetail !== null && !exitedOnce && this.proc === p && this.status === 'starting') this.set('running', readyDetail);
    };
    p.onOutput((line) => {
      this.o.echo?.(line);
      this.output.push(line);
      if (this.output.length > this.o.outputLines) this.output.splice(0, this.output.length - this.o.outputLines);
      if (this.proc !== p) return;
      this.lastLine = line;
      if (this.o.ready && readyDetail === null) {
        readyDetail = this.o.ready(line);
        goRunning();
      }
    });
    p.onSpawn(() => {
      if (exitedOnce || this.proc !== p) return;
      spawned = true;
      if (!this.o.ready) readyDetail = `running (pid ${p.pid ?? '?'})`;
      goRunning();
      this.healthyTimer = setTimeout(() => {
        this.healthyTimer = null;
        if (this.proc === p && this.consecutive) {
          this.consecutive = 0;
          this.emit();
        }
      }, this.o.healthyAfterMs);
      this.healthyTimer.unref?.();
    });
    p.onExit((code, signal) => {
      if (exitedOnce) return;
      exitedOnce = true;
      this.onExited(code, signal, Date.now() - startedAt, null);
    });
  }

  private onExited(code: number | null, signal: string | null, uptimeMs: number | null, why: string | null): void {
    this.proc = null;
    if (this.healthyTimer) clearTimeout(this.healthyTimer);
    this.healthyTimer = null;
    this.lastExit = { code, signal, at: new Date().toISOString() };
    const waiters = [...this.exited];
    this.exited.clear();
    const how = why ?? (signal ? `killed by ${signal}` : `exited with code ${code}`);
    const last = this.lastLine;
    this.lastLine = null;
    if (this.stopping) {
      const { final, detail } = this.stopping;
      this.stopping = null;
      this.set(final, detail);
      for (const w of waiters) w();
      return;
    }
    this.crashes++;
    if (uptimeMs !== null && uptimeMs >= this.o.healthyAfterMs) this.consecutive = 0;
    this.consecutive++;
    const delay = backoffDelay(this.consecutive, this.o.minDelayMs, this.o.maxDelayMs, this.o.factor);
    this.restartIn = delay;
    this.o.log(`local worker ${why ?? `exited (${signal ?? `code ${code}`})`}; restarting in ${delay} ms`);
    this.set('backoff', `${how}; restarting in ${Math.ceil(delay / 1000)} s${last ? ` (last output: “${said(last)}”)` : ''}`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.restartIn = null;
      this.launch();
    }, delay);
    for (const w of waiters) w();
  }

  private clearRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.restartIn = null;
  }

  private set(status: WorkerStatus, detail: string): void {
    this.status = status;
    this.detail = detail;
    if (status !== 'backoff') this.restartIn = null;
    this.emit();
  }

  private emit(): void {
    const s = this.state();
    for (const l of this.listeners) {
      try {
        l(s);
      } catch (e) {
        this.o.log(`worker state listener failed: ${(e as Error).message}`);
      }
    }
  }
}

function lines(stream: Readable | null | undefined, cb: (line: string) => void): void {
  if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', cb);
}

/** A `SupervisedProcess` over a Node child process started with stdout and stderr piped. */
function supervisedChild(child: ChildProcess): SupervisedProcess {
  const outputs = new Set<(l: string) => void>();
  lines(child.stdout, (l) => outputs.forEach((cb) => cb(l)));
  lines(child.stderr, (l) => outputs.forEach((cb) => cb(l)));
  let exitCb: ((code: number | null, signal: string | null) => void) | null = null;
  let done = false;
  const finish = (code: number | null, signal: string | null) => {
    if (done) return;
    done = true;
    exitCb?.(code, signal);
  };
  // 'close' comes after 'exit' once stdout and stderr are drained: the last lines are in.
  child.on('close', (code, signal) => finish(code, signal));
  child.on('error', (err) => {
    outputs.forEach((cb) => cb(`failed to start: ${err.message}`));
    if (child.pid === undefined) finish(null, null);
  });
  return {
    get pid() {
      return child.pid;
    },
    onSpawn: (cb) => void child.once('spawn', cb),
    onExit: (cb) => {
      exitCb = cb;
    },
    onOutput: (cb) => void outputs.add(cb),
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal ?? 'SIGTERM');
    },
  };
}

/** A `SupervisedProcess` over Node's child_process.fork (used by tests and headless runs). */
export function forkProcess(modulePath: string, args: string[] = [], opts: ForkOptions = {}): SpawnWorker {
  return () => supervisedChild(fork(modulePath, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
}

/**
 * `node <script> <args…>` with this Node binary (box's worker: `dist/cli.js worker …`). With
 * `ipc`, the child gets a Node IPC channel, and `onChild` sees every new process before it
 * runs, so the embedded queue can attach to each (re)spawn.
 */
export function nodeScriptProcess(
  script: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; ipc?: boolean; onChild?: (child: ChildProcess) => void } = {},
): SpawnWorker {
  return () => {
    const child = spawn(process.execPath, [script, ...args], {
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])],
    });
    const p = supervisedChild(child);
    opts.onChild?.(child);
    return p;
  };
}
