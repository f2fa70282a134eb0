// What the desktop app's preload script exposes to the renderer as `window.buildbox`, and the
// desktop settings it persists. The renderer only ever receives a base URL and a token through
// this bridge; everything else it does goes over the controller's HTTP API, exactly as in a
// browser, so the same UI works embedded, remote, and served by `buildbox box`.
import { z } from 'zod';

export type ConnectionMode = 'embedded' | 'remote';

export interface DesktopConnection {
  /** The controller's base URL, without a trailing slash. */
  baseUrl: string;
  /** A `bbx_…` bearer token: made for this launch (embedded) or taken from the settings (remote). */
  token: string;
  mode: ConnectionMode;
}

/** Lifecycle of the supervised local worker process. */
export type WorkerStatus =
  /** Not running by choice: turned off in the settings, or the app is connected to a remote controller. */
  | 'disabled'
  | 'starting'
  | 'running'
  /** It exited unexpectedly; a restart is scheduled after `restartInMs`. */
  | 'backoff'
  | 'stopping'
  | 'stopped';

export interface WorkerExit {
  code: number | null;
  signal: string | null;
  /** ISO 8601. */
  at: string;
}

export interface WorkerState {
  status: WorkerStatus;
  pid: number | null;
  /** Unexpected exits since the app started. */
  crashes: number;
  /** Unexpected exits since the worker last stayed up long enough to count as healthy. */
  consecutiveCrashes: number;
  /** Delay before the scheduled restart (status `backoff`). */
  restartInMs: number | null;
  lastExit: WorkerExit | null;
  /** One human-readable line about the current state. */
  detail: string;
  /** The last lines the worker printed (stdout and stderr), oldest first. */
  recentOutput: string[];
}

export type TestConnectionResult =
  | { ok: true; baseUrl: string; message: string }
  | { ok: false; baseUrl: string; error: string };

export type SaveSettingsResult = { ok: true; settings: DesktopSettings } | { ok: false; error: string };

export interface LoadedSettings {
  settings: DesktopSettings;
  /** Set when the settings file existed but could not be used; the defaults are in effect. */
  error: string | null;
  path: string;
}

/** `window.buildbox` in the desktop app. Named functions only; no Node or Electron objects cross. */
export interface DesktopBridge {
  getConnection(): Promise<DesktopConnection>;
  /** Returns a function that unsubscribes. */
  onConnectionChanged(cb: (c: DesktopConnection) => void): () => void;
  getWorkerState(): Promise<WorkerState>;
  onWorkerState(cb: (s: WorkerState) => void): () => void;
  getSettings(): Promise<LoadedSettings>;
  /** Validates, persists and applies (switching the connection and the local worker as needed). */
  saveSettings(s: DesktopSettings): Promise<SaveSettingsResult>;
  /** Checks that `url` is a Buildbox controller and that it accepts `token`. */
  testConnection(url: string, token: string): Promise<TestConnectionResult>;
  /** Show a desktop notification when this job finishes; clicking it opens the job. */
  notifyJobSubmitted(jobId: number): Promise<void>;
}

export const DEFAULT_DESKTOP_AMQP = 'amqp://guest:guest@127.0.0.1:5672/';

const NAME = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.host;
  } catch {
    return false;
  }
}

const ConnectionSettings = z
  .object({
    mode: z.enum(['embedded', 'remote']).default('embedded'),
    /** The remote controller's base URL (remote mode). */
    remoteUrl: z.string().trim().default(''),
    /** A user token (`buildbox user token <name>`) for the remote controller. */
    remoteToken: z.string().trim().default(''),
  })
  .superRefine((c, ctx) => {
    if (c.remoteUrl && !isHttpUrl(c.remoteUrl)) ctx.addIssue({ code: 'custom', path: ['remoteUrl'], message: 'must be an http:// or https:// URL' });
    if (c.mode !== 'remote') return;
    if (!c.remoteUrl) ctx.addIssue({ code: 'custom', path: ['remoteUrl'], message: 'required for a remote controller' });
    if (!c.remoteToken) ctx.addIssue({ code: 'custom', path: ['remoteToken'], message: 'required for a remote controller' });
  });

const EmbeddedSettings = z.object({
  /** RabbitMQ for the embedded controller; null runs without a broker. */
  amqp: z
    .string()
    .trim()
    .regex(/^amqps?:\/\/\S+$/, { message: 'must be an amqp:// or amqps:// URL' })
    .nullable()
    .default(DEFAULT_DESKTOP_AMQP),
  /** 0 = a random free port on 127.0.0.1 at every launch. */
  port: z.number().int().min(0).max(65535).default(0),
});

export const LocalWorkerSettings = z.object({
  enabled: z.boolean().default(true),
  // dpkg builds on the host and needs no chroot, so a fresh install can build at once; sbuild
  // isolates builds but needs chroots made first (`buildbox chroot`).
  backend: z.enum(['dpkg', 'sbuild', 'dry-run']).default('dpkg'),
  suites: z
    .array(z.string().regex(NAME, { message: 'must be a suite name (letters, digits, . + _ -)' }))
    .min(1, { message: 'name at least one suite' })
    .default(['unstable']),
  /** Directory of sbuild chroot tarballs; null = the worker's default. */
  chroots: z.string().trim().min(1).nullable().default(null),
  slots: z.number().int().min(1).max(64).default(1),
});

export const DesktopSettingsSchema = z.object({
  connection: ConnectionSettings.default({ mode: 'embedded', remoteUrl: '', remoteToken: '' }),
  embedded: EmbeddedSettings.default({ amqp: DEFAULT_DESKTOP_AMQP, port: 0 }),
  worker: LocalWorkerSettings.default({ enabled: true, backend: 'dpkg', suites: ['unstable'], chroots: null, slots: 1 }),
  /** Desktop notifications for jobs submitted from this app. */
  notifications: z.boolean().default(true),
  /** Closing the last window keeps the app (controller, worker, tray) running. */
  closeToTray: z.boolean().default(false),
});

export type DesktopSettings = z.output<typeof DesktopSettingsSchema>;

export function defaultDesktopSettings(): DesktopSettings {
  return DesktopSettingsSchema.parse({});
}

/** Zod issues as one line that names each field, e.g. `connection.remoteUrl: required …`. */
export function describeIssues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`).join('; ');
}
