// Everything the desktop app's main process does apart from drawing windows: settings, the
// connection (embedded or remote controller), the supervised local worker, the event stream,
// tray counts and job notifications. It uses no Electron API (those come in as functions), so
// the whole of it runs, and is tested, under plain Node.
import type {
  DesktopConnection,
  DesktopSettings,
  LoadedSettings,
  SaveSettingsResult,
  TestConnectionResult,
  WorkerState,
} from '@shared/desktop-bridge';
import type { EmbeddedQueue } from '../../src-worker/embedded-queue';
import type { ControllerOptions } from '../controller/controller';
import { ConnectionManager, testConnection } from './connection';
import { ControllerEvents } from './controller-events';
import { JobCountsModel } from './job-counts';
import { JobWatcher, type JobFinishedNotice } from './job-watcher';
import { localWorkerSpec, type LocalWorkerSpec } from './local-worker';
import { SettingsStore, SettingsValidationError, validateSettings } from './settings';
import { WorkerSupervisor, type SpawnWorker, type WorkerSupervisorOptions } from './worker-supervisor';

export interface AppCoreOptions {
  /** The user data directory: settings.json, the embedded database, the worker's build root. */
  dataDir: string;
  log: (line: string) => void;
  /** Shows a desktop notification for a finished job. */
  notify: (n: JobFinishedNotice) => void;
  /** Makes the local worker process for a configuration (utilityProcess in the app). */
  workerSpawner: (spec: LocalWorkerSpec, queue: EmbeddedQueue | null) => SpawnWorker;
  controllerOptions?: Partial<ControllerOptions>;
  brokerReachable?: (url: string) => Promise<boolean>;
  supervisor?: Omit<WorkerSupervisorOptions, 'spawn' | 'log'>;
  clientId?: string;
}

export class AppCore {
  readonly settings: SettingsStore;
  readonly connection: ConnectionManager;
  readonly worker: WorkerSupervisor;
  readonly counts: JobCountsModel;
  readonly jobs: JobWatcher;
  private events: ControllerEvents | null = null;
  private workerKey: string | null = null;
  private workerSpawn: SpawnWorker | null = null;
  private workerQueue = Promise.resolve();

  constructor(private readonly o: AppCoreOptions) {
    this.settings = new SettingsStore(o.dataDir);
    this.connection = new ConnectionManager({
      dataDir: o.dataDir,
      log: o.log,
      controllerOptions: o.controllerOptions,
      brokerReachable: o.brokerReachable,
    });
    this.worker = new WorkerSupervisor({
      ...o.supervisor,
      log: o.log,
      spawn: () => {
        if (!this.workerSpawn) throw new Error('no local worker configuration');
        return this.workerSpawn();
      },
    });
    this.counts = new JobCountsModel({ log: o.log });
    this.jobs = new JobWatcher({ notify: (n) => (this.settings.get().settings.notifications ? o.notify(n) : undefined), log: o.log });
    this.connection.onChange((c) => this.follow(c));
  }

  /** Loads the settings and connects. A bad settings file is reported, not fatal. */
  async start(): Promise<LoadedSettings> {
    const loaded = this.settings.load();
    if (loaded.error) this.o.log(`settings: ${loaded.error}`);
    await this.connection.apply(loaded.settings);
    await this.applyWorker(loaded.settings);
    return loaded;
  }

  async getConnection(): Promise<DesktopConnection> {
    const c = this.connection.current();
    if (!c) throw new Error('not connected to a controller');
    return c;
  }

  getWorkerState(): WorkerState {
    return this.worker.state();
  }

  getSettings(): LoadedSettings {
    return this.settings.get();
  }

  /**
   * Validates, applies, then persists. When applying fails (say the embedded controller cannot
   * bind its fixed port) the previous settings are applied again and nothing is written.
   */
  async saveSettings(input: unknown): Promise<SaveSettingsResult> {
    let next: DesktopSettings;
    try {
      next = validateSettings(input);
    } catch (e) {
      if (e instanceof SettingsValidationError) return { ok: false, error: e.message };
      throw e;
    }
    const previous = this.settings.get().settings;
    try {
      await this.connection.apply(next);
    } catch (e) {
      const error = `could not switch the connection: ${(e as Error).message}`;
      this.o.log(error);
      try {
        await this.connection.apply(previous);
      } catch (again) {
        this.o.log(`could not go back to the previous connection either: ${(again as Error).message}`);
      }
      await this.applyWorker(previous);
      return { ok: false, error };
    }
    const saved = this.settings.save(next);
    await this.applyWorker(saved);
    return { ok: true, settings: saved };
  }

  testConnection(url: string, token: string): Promise<TestConnectionResult> {
    return testConnection(url, token);
  }

  notifyJobSubmitted(jobId: number): Promise<void> {
    return this.jobs.watch(jobId);
  }

  /** Starts, restarts or stops the local worker to match the settings and the connection. */
  applyWorker(s: DesktopSettings): Promise<void> {
    const run = this.workerQueue.then(() => this.doApplyWorker(s));
    this.workerQueue = run.catch((e: unknown) => this.o.log(`local worker: ${(e as Error).message}`));
    return run;
  }

  private async doApplyWorker(s: DesktopSettings): Promise<void> {
    const emb = this.connection.embedded();
    if (!s.worker.enabled) {
      this.workerKey = null;
      await this.worker.stop('disabled', 'turned off in the settings');
      return;
    }
    if (!emb) {
      this.workerKey = null;
      await this.worker.stop('disabled', 'the local worker serves the embedded controller; this app is connected to a remote one');
      return;
    }
    const spec = localWorkerSpec({
      settings: s,
      controllerUrl: emb.controller.url,
      workerToken: emb.tokens.worker.token,
      amqp: emb.amqp,
      dataDir: this.o.dataDir,
      clientId: this.o.clientId,
    });
    const status = this.worker.state().status;
    if (spec.key === this.workerKey && (status === 'running' || status === 'starting' || status === 'backoff')) return;
    await this.worker.stop();
    this.workerKey = spec.key;
    this.workerSpawn = this.o.workerSpawner(spec, emb.queue);
    this.worker.start();
  }

  private follow(c: DesktopConnection): void {
    this.events?.stop();
    this.events = new ControllerEvents({ baseUrl: c.baseUrl, token: c.token, log: this.o.log });
    this.jobs.attach(c, this.events);
    this.counts.attach(c, this.events);
    this.events.start();
  }

  async stop(): Promise<void> {
    await this.workerQueue;
    await this.worker.stop();
    this.events?.stop();
    this.events = null;
    this.jobs.attach(null, null);
    this.counts.stop();
    await this.connection.close();
  }
}
