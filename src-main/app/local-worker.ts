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
  const args = [
    '--controller', input.controllerUrl,
    '--amqp', input.amqp ?? 'ipc:',
    '--client-id', input.clientId ?? localClientId(),
    '--backend', w.backend,
    '--slots', String(w.slots),
    '--buildroot', join(input.dataDir, 'worker'),
    ...(w.chroots ? ['--chroots', w.chroots] : []),
    ...w.suites.flatMap((s) => ['--suite', s]),
  ];
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
