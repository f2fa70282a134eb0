// The local worker of `buildbox box`: its settings (saved in <data-dir>/local-worker.json, with
// the command line's explicit flags on top at start) and the process running them, kept up by
// the desktop app's WorkerSupervisor (`node <cli> worker …` as a child process here). A change
// stops the running worker (it hands its builds back) and starts one with the new options; the
// supervisor's state, in the API's shape, is what the Settings screen shows.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../atomic-write';
import { describeIssues } from '@shared/desktop-bridge';
import {
  LOCAL_WORKER_FIELDS,
  LocalWorkerConfig,
  type LocalWorkerField,
  type LocalWorkerInfo,
  type LocalWorkerPatch,
  type LocalWorkerProcessState,
} from '@shared/local-worker-api';
import type { EmbeddedQueue } from '../../src-worker/embedded-queue';
import { listChroots } from '../../src-worker/chroots';
import { HttpError } from '../controller/http/errors';
import { localWorkerArgs } from '../app/local-worker';
import { nodeScriptProcess, workerReadyDetail, WorkerSupervisor, type SpawnWorker } from '../app/worker-supervisor';

export const LOCAL_WORKER_FILE = 'local-worker.json';

export interface BoxLocalWorkerOptions {
  dataDir: string;
  /** Settings given explicitly on the command line; they win over the saved file at start. */
  flags: Partial<LocalWorkerConfig>;
  clientId: string;
  /** Where chroot tarballs are looked for when the settings name no directory. */
  defaultChrootsDir: string;
  /** Worker arguments the settings do not cover (--buildroot, --arch). */
  extraArgs: string[];
  /** The CLI script the worker runs from (`<script> worker …`). */
  script: string;
  log: (line: string) => void;
  /** Restart back-off (default 0.5 s doubling up to 30 s; tests shorten it). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** SIGTERM → SIGKILL grace when stopping the worker. */
  stopGraceMs?: number;
}

/** What the controller side provides once it is up. */
export interface LocalWorkerRuntime {
  controllerUrl: string;
  /** An AMQP URL, or `ipc:` for the embedded queue. */
  amqp: string;
  /** A worker token (passed in the environment, never in argv). */
  token: string;
  queue: EmbeddedQueue | null;
}

/** Reads the saved settings; a missing file is no error, an unusable one is reported. */
function readSettingsFile(path: string): { saved: Partial<LocalWorkerConfig>; error: string | null } {
  if (!existsSync(path)) return { saved: {}, error: null };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return { saved: {}, error: `${path} could not be read (${(e as Error).message}); using the defaults` };
  }
  const r = LocalWorkerConfig.partial().safeParse(raw);
  if (!r.success) return { saved: {}, error: `${path} is invalid: ${describeIssues(r.error)}; using the defaults` };
  // partial() still fills in defaults; keep only what the file says, so flags and detection apply to the rest.
  const keys = raw && typeof raw === 'object' ? Object.keys(raw) : [];
  return { saved: Object.fromEntries(Object.entries(r.data).filter(([k]) => keys.includes(k))) as Partial<LocalWorkerConfig>, error: null };
}

export class BoxLocalWorker {
  readonly settingsPath: string;
  private config: LocalWorkerConfig;
  private readonly settingsError: string | null;
  private readonly setByFlags: LocalWorkerField[];
  private runtime: LocalWorkerRuntime | null = null;
  private readonly supervisor: WorkerSupervisor;
  /** How the supervisor makes a process: set for the settings in effect, null while off. */
  private spawnWorker: SpawnWorker | null = null;
  /** When the current process started (ISO 8601). */
  private startedAt: string | null = null;
  /** Serialises changes: a second PUT applies on top of the first. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: BoxLocalWorkerOptions) {
    this.settingsPath = join(o.dataDir, LOCAL_WORKER_FILE);
    const { saved, error } = readSettingsFile(this.settingsPath);
    this.settingsError = error;
    if (error) o.log(`local worker settings: ${error}`);
    const flagCheck = LocalWorkerConfig.partial().safeParse(o.flags);
    if (!flagCheck.success) throw new Error(`local worker: ${describeIssues(flagCheck.error)}`);
    this.setByFlags = LOCAL_WORKER_FIELDS.filter((k) => o.flags[k] !== undefined);
    const merged = { ...saved, ...Object.fromEntries(Object.entries(o.flags).filter(([, v]) => v !== undefined)) } as Partial<LocalWorkerConfig>;
    if (merged.backend === undefined) {
      // Neither saved nor given: sbuild when there is a chroot to build in, else a host build.
      const dir = merged.chroots ?? o.defaultChrootsDir;
      merged.backend = listChroots(dir).length > 0 ? 'sbuild' : 'dpkg';
      if (merged.backend === 'dpkg' && merged.enabled !== false) {
        o.log(`No sbuild chroot in ${dir}: the local worker builds on this host (dpkg backend, no isolation). Make one with 'buildbox chroot create --suite <suite>'.`);
      }
    }
    this.config = LocalWorkerConfig.parse(merged);
    this.supervisor = new WorkerSupervisor({
      spawn: () => {
        if (!this.spawnWorker) throw new Error('no local worker configuration');
        return this.spawnWorker();
      },
      minDelayMs: o.minDelayMs ?? 500,
      maxDelayMs: o.maxDelayMs ?? 30_000,
      stopGraceMs: o.stopGraceMs,
      ready: workerReadyDetail,
      // Its lines carry the worker's own `[worker <name>]` prefix; box prints them as they are.
      echo: o.log,
      log: o.log,
      initial: this.config.enabled
        ? { status: 'stopped', detail: 'waiting for the controller to start' }
        : { status: 'disabled', detail: 'turned off in the settings' },
    });
  }

  current(): LocalWorkerConfig {
    return { ...this.config, suites: [...this.config.suites] };
  }

  /** The supervisor's state as /api/v1/local-worker reports it. */
  processState(): LocalWorkerProcessState {
    const s = this.supervisor.state();
    return {
      status: s.status,
      pid: s.pid,
      restarts: s.crashes,
      lastExit: s.lastExit && { ...s.lastExit },
      detail: s.detail,
      startedAt: s.pid === null ? null : this.startedAt,
      recentOutput: s.recentOutput,
    };
  }

  info(): LocalWorkerInfo {
    const chrootsDir = this.chrootsDir();
    return {
      ...this.current(),
      state: this.processState(),
      clientId: this.o.clientId,
      chrootsDir,
      chrootsAvailable: listChroots(chrootsDir).map((c) => ({ name: c.name, arch: c.arch, file: basename(c.path) })),
      setByFlags: [...this.setByFlags],
      settingsError: this.settingsError,
    };
  }

  /** Starts the worker (when enabled) against the controller that is now up. */
  start(runtime: LocalWorkerRuntime): Promise<void> {
    this.runtime = runtime;
    return this.enqueue(() => this.apply());
  }

  /**
   * Validates `patch` on top of the current settings, saves the result (atomically), then stops
   * the running worker and starts one with the new settings. Invalid input changes nothing.
   */
  update(patch: LocalWorkerPatch): Promise<LocalWorkerInfo> {
    return this.enqueue(async () => {
      const r = LocalWorkerConfig.safeParse({ ...this.config, ...patch });
      if (!r.success) throw new HttpError(400, describeIssues(r.error));
      const next = r.data;
      const changed = JSON.stringify(next) !== JSON.stringify(this.config);
      this.save(next);
      this.config = next;
      if (changed || (next.enabled && !this.spawnWorker)) await this.apply();
      return this.info();
    });
  }

  /** Stops the worker for good (the box is ending). */
  stop(): Promise<void> {
    return this.enqueue(async () => {
      this.runtime = null;
      this.spawnWorker = null;
      await this.supervisor.stop(this.config.enabled ? 'stopped' : 'disabled', 'the box is stopping');
    });
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private chrootsDir(): string {
    return this.config.chroots ?? this.o.defaultChrootsDir;
  }

  private save(c: LocalWorkerConfig): void {
    writeFileAtomic(this.settingsPath, `${JSON.stringify(c, null, 2)}\n`);
  }

  private args(rt: LocalWorkerRuntime): string[] {
    return [
      'worker',
      ...localWorkerArgs({ controllerUrl: rt.controllerUrl, amqp: rt.amqp, clientId: this.o.clientId, worker: this.config, chroots: this.chrootsDir(), extra: this.o.extraArgs }),
    ];
  }

  /** Makes the process match the settings: stop what runs, start anew when enabled. */
  private async apply(): Promise<void> {
    const rt = this.runtime;
    if (!this.config.enabled) {
      this.spawnWorker = null;
      await this.supervisor.stop('disabled', 'turned off in the settings');
      return;
    }
    if (!rt) {
      this.spawnWorker = null;
      await this.supervisor.stop('stopped', 'waiting for the controller to start');
      return;
    }
    await this.supervisor.stop();
    const spawnProcess = nodeScriptProcess(this.o.script, this.args(rt), {
      env: { ...process.env, BUILDBOX_WORKER_TOKEN: rt.token },
      ipc: !!rt.queue,
      onChild: (child) => {
        // Every (re)spawn is a new channel: the embedded queue hands its messages to this one.
        rt.queue?.attach(child);
        this.startedAt = new Date().toISOString();
      },
    });
    this.spawnWorker = spawnProcess;
    this.supervisor.start(`starting: ${this.config.backend} backend, suites ${this.config.suites.join(', ')}`);
  }
}

/** The flags of `box` that map onto the settings, keeping only those given on the command line. */
export function settingsFromFlags(
  o: { backend?: string; suite?: string[]; slots?: string; chroots?: string },
  given: (flag: 'backend' | 'suite' | 'slots' | 'chroots') => boolean,
  resolveDir: (d: string) => string,
): Partial<LocalWorkerConfig> {
  const out: Record<string, unknown> = {};
  if (given('backend') && o.backend !== undefined) out.backend = o.backend;
  if (given('suite') && o.suite?.length) out.suites = o.suite;
  if (given('slots') && o.slots !== undefined) {
    if (!/^\d{1,3}$/.test(o.slots)) throw new Error(`--slots must be a whole number from 1 to 64, got '${o.slots}'`);
    out.slots = Number(o.slots);
  }
  if (given('chroots') && o.chroots !== undefined) out.chroots = resolveDir(o.chroots);
  // Checked here so that a bad flag is reported as a flag.
  const r = LocalWorkerConfig.partial().safeParse(out);
  if (!r.success) {
    const names: Record<string, string> = { backend: '--backend', suites: '--suite', slots: '--slots', chroots: '--chroots' };
    throw new Error(r.error.issues.map((i) => `${names[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; '));
  }
  return out as Partial<LocalWorkerConfig>;
}
