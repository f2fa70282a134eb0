// Picks a build backend by name (the worker's --backend option).
import type { KillTimings } from '../run-command';
import type { BuildBackend } from './backend';
import { DpkgBackend } from './dpkg';
import { DryRunBackend, type DryRunBackendOptions } from './dry-run';
import { SbuildBackend, type SbuildBackendOptions } from './sbuild';

export interface BackendOptions {
  kill?: Partial<KillTimings>;
  sbuild?: Omit<SbuildBackendOptions, 'kill'>;
  dryRun?: DryRunBackendOptions;
}

type Factory = (opts: BackendOptions) => BuildBackend;

const factories = new Map<string, Factory>([
  ['sbuild', (o) => new SbuildBackend({ ...o.sbuild, kill: o.kill })],
  ['dpkg', (o) => new DpkgBackend({ kill: o.kill })],
  ['dry-run', (o) => new DryRunBackend(o.dryRun)],
]);

/** Lets other backends (e.g. the scripted test backend) plug in without this file knowing them. */
export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory);
}

export function backendNames(): string[] {
  return [...factories.keys()];
}

export function createBackend(name: string, opts: BackendOptions = {}): BuildBackend {
  const f = factories.get(name);
  if (!f) throw new Error(`unknown build backend "${name}" (known: ${backendNames().join(', ')})`);
  return f(opts);
}
