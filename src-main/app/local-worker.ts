// What the local worker is started with: the same flags `buildbox box` gives its worker, built
// from the desktop settings and the embedded controller of this launch.
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DesktopSettings } from '@shared/desktop-bridge';

export interface LocalWorkerSpec {
  /** Arguments after `worker` (as for `buildbox worker`). */
  args: string[];
  env: Record<string, string>;
  /** The worker talks to the embedded in-process queue over its parent channel. */
  ipcQueue: boolean;
  /** Identifies a configuration: a change means the worker must restart. */
  key: string;
}

export function localClientId(host = hostname()): string {
  return `desktop-${host.split('.')[0].replace(/[^A-Za-z0-9._-]/g, '-')}`;
}

/** `buildbox worker` flags for a local worker from its settings: the desktop app's and `box`'s. */
export function localWorkerArgs(o: {
  controllerUrl: string;
  /** An AMQP URL, or `ipc:` for the embedded queue. */
  amqp: string;
  clientId: string;
  worker: Pick<DesktopSettings['worker'], 'backend' | 'slots' | 'suites'>;
  chroots: string | null;
  /** Flags the settings do not cover (--buildroot, --arch). */
  extra: string[];
}): string[] {
  return [
    '--controller', o.controllerUrl,
    '--amqp', o.amqp,
    '--client-id', o.clientId,
    '--backend', o.worker.backend,
    '--slots', String(o.worker.slots),
    ...o.extra,
    ...(o.chroots ? ['--chroots', o.chroots] : []),
    ...o.worker.suites.flatMap((s) => ['--suite', s]),
  ];
}

export function localWorkerSpec(input: {
  settings: DesktopSettings;
  controllerUrl: string;
  workerToken: string;
  /** AMQP URL, or null for the embedded queue. */
  amqp: string | null;
  dataDir: string;
  clientId?: string;
}): LocalWorkerSpec {
  const w = input.settings.worker;
  const args = localWorkerArgs({
    controllerUrl: input.controllerUrl,
    amqp: input.amqp ?? 'ipc:',
    clientId: input.clientId ?? localClientId(),
    worker: w,
    chroots: w.chroots,
    extra: ['--buildroot', join(input.dataDir, 'worker')],
  });
  // The token goes through the environment, not argv, so it does not show in process lists.
  const env = { BUILDBOX_WORKER_TOKEN: input.workerToken };
  return { args, env, ipcQueue: input.amqp === null, key: JSON.stringify([args, input.workerToken]) };
}

/** The worker entry's arguments: BUILDBOX_WORKER_ARGS (a JSON array) when set, else `fallback`. */
export function workerArgs(env: NodeJS.ProcessEnv, fallback: string[]): string[] {
  const raw = env.BUILDBOX_WORKER_ARGS;
  if (!raw) return fallback;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('BUILDBOX_WORKER_ARGS is not JSON');
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error('BUILDBOX_WORKER_ARGS must be a JSON array of strings');
  return parsed;
}
