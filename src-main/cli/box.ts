// `buildbox box`: the all-in-one mode — the same controller `serve` runs, plus the web UI at `/`
// and a supervised local worker (a child process running `dist/cli.js worker`, restarted with
// back-off if it dies). With no broker reachable, the controller's messages go to an embedded
// in-process queue that only the local worker consumes (over its IPC channel). The local
// worker's settings can be changed while the box runs (box-local-worker.ts, /api/v1/local-worker).
import type { Command } from 'commander';
import { Option } from 'commander';
import amqp from 'amqplib';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addControllerOptions, defaultDataDir, type ControllerFlags } from './options';
import { onSignals, startFromFlags } from './serve';
import { defaultChrootsDir } from '../../src-worker/chroots';
import type { Controller } from '../controller/controller';
import type { Db } from '../controller/db/connect';
import { issueToken } from '../controller/auth/tokens';
import { nowText } from '../controller/db/time';
import { EmbeddedQueue } from '../../src-worker/embedded-queue';
import { BoxLocalWorker, LOCAL_WORKER_FILE, settingsFromFlags } from './box-local-worker';
import { registerLocalWorkerApi } from './local-worker-api';

interface BoxFlags extends ControllerFlags {
  worker: boolean;
  backend?: string;
  suite?: string[];
  slots: string;
  buildroot?: string;
  chroots?: string;
  workerArch?: string;
  workerId?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Can we open an AMQP connection right now? */
export async function brokerReachable(url: string): Promise<boolean> {
  try {
    const c = await amqp.connect(url, { noDelay: true, timeout: 3000 });
    c.on('error', () => {});
    await c.close().catch(() => {});
    return true;
  } catch {
    return false;
  }
}

/** A fresh worker token for the local worker, revoking the ones earlier runs of the box made. */
async function localWorkerToken(db: Db, name: string): Promise<string> {
  await db.kysely.updateTable('tokens').set({ revoked_at: nowText() }).where('kind', '=', 'worker').where('name', '=', name).where('revoked_at', 'is', null).execute();
  return (await issueToken(db.kysely, { kind: 'worker', userId: null, name })).token;
}

/**
 * Feeds the embedded queue from the controller's outbox (the rows the AMQP publisher would
 * send), marking them sent as they are handed over. Single-flight; kicked by `outbox.pending`.
 */
export function drainOutboxInto(c: Controller, q: EmbeddedQueue): { stop(): void } {
  const db = c.ctx.db;
  let running: Promise<void> | null = null;
  let again = false;
  const drain = async (): Promise<void> => {
    for (;;) {
      const rows = await db.kysely
        .selectFrom('outbox')
        .select(['id', 'routing_key', 'queue', 'body'])
        .where('sent_at', 'is', null)
        .where('dead_at', 'is', null)
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', nowText())]))
        .orderBy('id')
        .limit(500)
        .execute();
      if (rows.length === 0) return;
      for (const r of rows) {
        if (r.queue) q.declare(r.queue, r.routing_key);
        // Unroutable (a CancelRequest for a worker that is gone) is dropped, as RabbitMQ would.
        q.publish(r.routing_key, r.body);
      }
      await db.kysely
        .updateTable('outbox')
        .set({ sent_at: nowText() })
        .where('id', 'in', rows.map((r) => r.id))
        .execute();
    }
  };
  const kick = () => {
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((err: unknown) => c.ctx.log.warn(`embedded queue: reading the outbox failed: ${(err as Error).message}`))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          kick();
        }
      });
  };
  const off = c.ctx.events.on((e) => {
    if (e.type === 'outbox.pending') kick();
  });
  const timer = setInterval(kick, 500);
  timer.unref();
  kick();
  return {
    stop() {
      off();
      clearInterval(timer);
    },
  };
}

export function registerBox(program: Command): void {
  addControllerOptions(program.command('box').description('run controller, web UI and a local worker in one process tree'))
    .option('--no-worker', 'do not start the local worker (and offer no local-worker settings)')
    .option('--backend <name>', 'local worker backend: sbuild, dpkg (host build, no isolation) or dry-run (default: sbuild if a chroot tarball exists, else dpkg)')
    .option('--suite <suite>', 'suite the local worker builds for (repeatable; default unstable)', collect)
    .addOption(new Option('--slots <n>', 'builds at a time on the local worker').default('1'))
    .option('--buildroot <dir>', 'local worker work directory (default <data-dir>/worker)')
    .option('--chroots <dir>', 'chroot tarballs for sbuild (default ~/.cache/sbuild)')
    .option('--worker-arch <arch>', 'architecture the local worker builds (default: the host)')
    .option('--worker-id <id>', 'client id of the local worker: its command queue is build_client_<id> (default box-<host name>)')
    .addHelpText(
      'after',
      `
The local worker's settings (on/off, backend, suites, chroots, slots) can be changed while the box
runs, in the web UI (Settings) or with PUT /api/v1/local-worker; they are saved in
<data-dir>/${LOCAL_WORKER_FILE}. When the box starts, --backend, --suite, --slots and --chroots
given on the command line win over the saved settings for that field; the others keep their
saved values.`,
    )
    .action(async (o: BoxFlags, cmd: Command) => {
      const dataDir = o.dataDir ?? defaultDataDir();
      const given = (flag: string) => cmd.getOptionValueSource(flag) === 'cli';
      // Made before the controller starts: its routes are registered before it listens.
      const local = o.worker
        ? new BoxLocalWorker({
            dataDir,
            flags: settingsFromFlags(o, given, (d) => resolve(d)),
            clientId: o.workerId ?? `box-${hostname().split('.')[0].replace(/[^A-Za-z0-9._-]/g, '-')}`,
            defaultChrootsDir: defaultChrootsDir(),
            extraArgs: ['--buildroot', o.buildroot ?? join(dataDir, 'worker'), ...(o.workerArch ? ['--arch', o.workerArch] : [])],
            script: fileURLToPath(import.meta.url),
            log: (l) => process.stdout.write(`${l}\n`),
          })
        : null;
      let embedded: EmbeddedQueue | null = null;
      const amqpUrl = o.amqp;
      if (local && (amqpUrl === false || !(await brokerReachable(amqpUrl)))) {
        embedded = new EmbeddedQueue((l) => process.stdout.write(`${l}\n`));
      }
      const c = await startFromFlags(embedded ? { ...o, amqp: false } : o, local ? { routes: (app, deps) => registerLocalWorkerApi(app, deps, local) } : {});
      process.stdout.write(`Buildbox controller listening on ${c.url}\nBuildbox UI: ${c.url}/\n`);
      let drain: { stop(): void } | null = null;
      if (embedded) {
        const line = `${amqpUrl === false ? 'No broker (--no-amqp)' : `No RabbitMQ broker reachable at ${redact(amqpUrl)}`}: using the embedded in-process queue for the local worker (remote workers need a broker)`;
        process.stdout.write(`${line}\n`);
        c.ctx.log.warn(line);
        drain = drainOutboxInto(c, embedded);
      }

      if (local) {
        const token = await localWorkerToken(c.ctx.db, `local worker ${local.info().clientId}`);
        await local.start({ controllerUrl: c.url, amqp: embedded || amqpUrl === false ? 'ipc:' : amqpUrl, token, queue: embedded });
      }
      onSignals(async () => {
        await local?.stop();
        drain?.stop();
        await c.close();
      });
    });
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
