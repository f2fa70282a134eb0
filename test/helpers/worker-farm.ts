// A build farm for end-to-end tests: a real controller in this process (its own SQLite file and
// port, real RabbitMQ, short leases and retries, a worker token), the farm's own suite mapped to
// the host architecture, a source server for git repositories and .dsc URLs, and N real
// `buildbox worker` processes consuming that suite's build queue. close() stops the workers
// first (a worker must not outlive the controller it reports to), then the controller, deletes
// the build queue (it is durable and named for the farm's suite) and removes the temp dirs.
// Needs dist/cli.js (`npm run build:cli`).
import { buildQueueName } from '../../src-shared/pybit-models';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { Broker, startWorker, type Proc } from '../worker-e2e/harness';
import { TestController, type ControllerOverrides } from '../worker-e2e/controller-harness';
import { SourceServer } from '../worker-e2e/sources';
import { uniqueName } from './db';

export interface WorkerFarmOptions {
  /** Names the farm's temp dirs, and its suite unless `suite` is given. */
  label: string;
  /** The suite's exact name (a test that must know it before the farm starts, or wants dashes). */
  suite?: string;
  leaseSeconds?: number;
  /** Controller options over TestController's (publishing, say). */
  controller?: ControllerOverrides;
  /** How many worker processes (default 1); each gets its own client id and buildroot. */
  workers?: number;
  /** Client ids are `uniqueName(<clientPrefix><index>)`; default 'w'. */
  clientPrefix?: string;
  backend?: string;
  slots?: number;
  /** More `buildbox worker` flags. */
  extra?: string[];
}

export interface FarmWorker {
  proc: Proc;
  clientId: string;
  /** The client name the controller records for it: `build_client_<clientId>`. */
  name: string;
}

export interface WorkerFarm {
  ctl: TestController;
  suite: string;
  /** The suite's build queue (deleted by close()). */
  queue: string;
  broker: Broker;
  sources: SourceServer;
  workers: FarmWorker[];
  /** The first worker's process. */
  worker: Proc;
  /** Temp dirs removed by close(). */
  dirs: ReturnType<typeof tempDirs>;
  close(): Promise<void>;
}

export async function startWorkerFarm(o: WorkerFarmOptions): Promise<WorkerFarm> {
  const dirs = tempDirs();
  const suite = o.suite ?? uniqueName(o.label);
  const queue = buildQueueName('Debian', HOST_ARCH, suite, 'deb');
  // Undone in reverse: workers, controller, queue and broker connection, sources, dirs.
  const undo: Array<() => unknown> = [() => dirs.cleanup()];
  const close = async () => {
    for (const u of undo.splice(0).reverse()) await u();
  };
  try {
    const sources = await SourceServer.start(dirs.make(`bb-${o.label}-src-`));
    undo.push(() => sources.close());
    const broker = await Broker.connect();
    undo.push(async () => {
      await broker.deleteQueue(queue);
      await broker.close();
    });
    const ctl = await TestController.start({ leaseSeconds: o.leaseSeconds, controller: o.controller });
    undo.push(() => ctl.close());
    await ctl.addTarget(suite, HOST_ARCH);
    const workers: FarmWorker[] = [];
    undo.push(() => Promise.all(workers.map((w) => w.proc.stop())));
    for (let i = 0; i < (o.workers ?? 1); i++) {
      const clientId = uniqueName(`${o.clientPrefix ?? 'w'}${i}`);
      const proc = startWorker({
        clientId,
        suite,
        arch: HOST_ARCH,
        buildroot: dirs.make(`bb-${o.label}-root-`),
        controller: ctl.url,
        token: ctl.workerToken,
        backend: o.backend,
        slots: o.slots,
        extra: o.extra,
      });
      workers.push({ proc, clientId, name: `build_client_${clientId}` });
    }
    for (const w of workers) await w.proc.waitFor(/ready:/);
    return { ctl, suite, queue, broker, sources, workers, worker: workers[0]!.proc, dirs, close };
  } catch (e) {
    await close();
    throw e;
  }
}
