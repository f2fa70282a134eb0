// Keeps a local worker process running for `box`: starts `node dist/cli.js worker …`, prefixes
// and forwards its output, and restarts it with capped exponential back-off when it exits.
// A worker that stayed up for a while counts as healthy: the back-off starts again from the
// minimum after its next exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SupervisorOptions {
  /** Script to run with this Node binary (dist/cli.js). */
  script: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Open an IPC channel (for the embedded queue). */
  ipc?: boolean;
  onSpawn?: (child: ChildProcess) => void;
  log: (line: string) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Up this long = healthy (default 30 s). */
  healthyAfterMs?: number;
}

export class Supervisor {
  private child: ChildProcess | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private delay: number;
  restarts = 0;

  constructor(private readonly opts: SupervisorOptions) {
    this.delay = opts.minDelayMs ?? 500;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.stopped = false;
    this.spawn();
  }

  private spawn(): void {
    if (this.stopped) return;
    const startedAt = Date.now();
    const child = spawn(process.execPath, [this.opts.script, ...this.opts.args], {
      env: this.opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe', ...(this.opts.ipc ? (['ipc'] as const) : [])],
    });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (l) => this.opts.log(l));
    }
    child.on('error', (err) => this.opts.log(`local worker: ${err.message}`));
    this.opts.onSpawn?.(child);
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (this.stopped) return;
      if (Date.now() - startedAt >= (this.opts.healthyAfterMs ?? 30_000)) this.delay = this.opts.minDelayMs ?? 500;
      this.restarts++;
      this.opts.log(`local worker exited (${signal ?? `code ${code}`}); restarting in ${this.delay} ms`);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.spawn();
      }, this.delay);
      this.delay = Math.min(this.delay * 2, this.opts.maxDelayMs ?? 30_000);
    });
  }

  /** SIGTERM (the worker hands its builds back), then SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
