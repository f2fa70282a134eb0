// /api/v1/local-worker: the worker process `buildbox box` supervises, as the Settings screen
// sees and changes it. The settings are the desktop app's local-worker settings (same fields,
// same rules), so both faces of the Settings screen validate alike. `buildbox serve` runs no
// local worker and has no such route (404).
import { z } from 'zod';
import { LocalWorkerSettings } from './desktop-bridge';

export const LOCAL_WORKER_PATH = '/api/v1/local-worker';

/** What the local worker runs with: enabled, backend, suites, chroots (directory or null = default), slots. */
export type LocalWorkerConfig = z.output<typeof LocalWorkerSettings>;
export const LocalWorkerConfig = LocalWorkerSettings;

export const LOCAL_WORKER_FIELDS = ['enabled', 'backend', 'suites', 'chroots', 'slots'] as const;
export type LocalWorkerField = (typeof LOCAL_WORKER_FIELDS)[number];

const W = LocalWorkerSettings.shape;

/**
 * PUT body: any subset of the settings; the rest keep their values. Unknown fields are refused
 * (a typo must not pass as "nothing to change"). The defaults of the settings schema are
 * stripped so that an absent field means "unchanged", not "reset".
 */
export const LocalWorkerPatch = z
  .object({
    enabled: W.enabled.unwrap().optional(),
    backend: W.backend.unwrap().optional(),
    suites: W.suites.unwrap().max(50, { message: 'at most 50 suites' }).optional(),
    // The controller runs the worker on its own host: a relative directory would depend on
    // where the box was started.
    chroots: W.chroots
      .unwrap()
      .refine((d) => d === null || d.startsWith('/'), { message: 'must be an absolute directory path (or null for the default)' })
      .optional(),
    slots: W.slots.unwrap().optional(),
  })
  .strict();
export type LocalWorkerPatch = z.output<typeof LocalWorkerPatch>;

export const LocalWorkerStatus = z.enum(['disabled', 'starting', 'running', 'backoff', 'stopping', 'stopped']);

/**
 * The supervisor's state (the desktop app's WorkerState, same statuses) as the Settings screen
 * reads it: `restarts` is its crash count, `startedAt` is box's own.
 */
export const LocalWorkerProcessState = z.object({
  /**
   * disabled: turned off; starting: process started, not yet ready; running: the worker said
   * it is ready; backoff: it exited and a restart is scheduled; stopping; stopped (box ending,
   * or not started yet).
   */
  status: LocalWorkerStatus,
  pid: z.number().int().nullable(),
  /** Unexpected exits (each followed by a restart) since the box started. */
  restarts: z.number().int(),
  lastExit: z.object({ code: z.number().int().nullable(), signal: z.string().nullable(), at: z.string() }).nullable(),
  /** One human-readable line about the current state. */
  detail: z.string(),
  /** When the current process started (ISO 8601), or null. */
  startedAt: z.string().nullable(),
  /** The last lines the worker printed, oldest first. */
  recentOutput: z.array(z.string()),
});
export type LocalWorkerProcessState = z.output<typeof LocalWorkerProcessState>;

export const ChrootTarballInfo = z.object({ name: z.string(), arch: z.string(), file: z.string() });

/** GET (and the answer to PUT): the settings in effect, the process state and what can be chosen. */
export const LocalWorkerInfo = z.object({
  enabled: z.boolean(),
  backend: z.enum(['dpkg', 'sbuild', 'dry-run']),
  suites: z.array(z.string()),
  chroots: z.string().nullable(),
  slots: z.number().int(),
  state: LocalWorkerProcessState,
  /** The worker's client name on the Workers screen (`build_client_<id>` is its command queue). */
  clientId: z.string(),
  /** The directory sbuild chroot tarballs are taken from (`chroots`, or the default). */
  chrootsDir: z.string(),
  /** Tarballs found there (`<suite>-<arch>.tar.*`). */
  chrootsAvailable: z.array(ChrootTarballInfo),
  /**
   * Fields given on the box's command line. They win over the saved settings when the box
   * starts, so a change made here lasts until the box is restarted with those flags.
   */
  setByFlags: z.array(z.enum(LOCAL_WORKER_FIELDS)),
  /** Set when the saved settings file could not be used (the defaults and flags apply). */
  settingsError: z.string().nullable(),
});
export type LocalWorkerInfo = z.output<typeof LocalWorkerInfo>;
