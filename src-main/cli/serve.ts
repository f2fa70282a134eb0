// `buildbox serve`: the controller alone (the remote controller of a fleet).
import type { Command } from 'commander';
import { addControllerOptions, defaultDataDir, parsePort, type ControllerFlags } from './options';
import { startController, type Controller, type ControllerOptions } from '../controller/controller';

function parseSeconds(flag: string, s: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number of seconds ≥ 0, got '${s}'`);
  return n;
}

/** `extra`: what the calling mode adds (box: its local-worker routes). */
export async function startFromFlags(o: ControllerFlags, extra: Pick<ControllerOptions, 'routes'> = {}): Promise<Controller> {
  const dataDir = o.dataDir ?? defaultDataDir();
  const c = await startController({
    db: o.db,
    amqp: o.amqp === false ? null : o.amqp,
    host: o.host,
    port: parsePort(o.port),
    dataDir,
    publicHost: o.publicHost,
    adminPassword: process.env.BUILDBOX_ADMIN_PASSWORD || undefined,
    sampleData: o.sampleData,
    leaseSeconds: Number(o.leaseSeconds),
    scanIntervalMs: parseSeconds('--scan-interval', o.scanInterval) * 1000,
    // A signing key is only used by publishing, so giving one turns publishing on.
    publish: o.publish || Boolean(o.signKey) || undefined,
    signKey: o.signKey,
    gnupgHome: o.gnupgHome ?? process.env.GNUPGHOME,
    logLevel: o.logLevel as 'info',
    ...extra,
  });
  if (c.seedResult.generatedAdminPassword) {
    // Shown once: only the hash is stored.
    process.stdout.write(`Created user 'admin' with password: ${c.seedResult.generatedAdminPassword}\n(it is not stored in clear and will not be shown again; change it with 'buildbox user passwd admin')\n`);
  }
  return c;
}

export function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`received ${sig}, stopping\n`);
    stop().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`error while stopping: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}

export function registerServe(program: Command): void {
  addControllerOptions(program.command('serve').description('run the controller (REST API, dispatch) without a local worker')).action(async (o: ControllerFlags) => {
    const c = await startFromFlags(o);
    process.stdout.write(`Buildbox controller listening on ${c.url}\n`);
    onSignals(() => c.close());
  });
}
