// `buildbox box` processes for end-to-end tests, as a user runs them: controller and supervised
// local worker in one process (its own data dir, port 0, the dpkg backend), each with its own
// suite mapped to the host architecture, and one source server for all of a file's boxes.
// stop() ends the boxes (after each test); close() also deletes their build queues (durable, named
// for their suites) and removes the temp dirs.
// Needs dist/cli.js (`npm run build:cli`).
import { buildQueueName } from '../../src-shared/pybit-models';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { Broker, runCli, type Proc } from '../worker-e2e/harness';
import { SourceServer } from '../worker-e2e/sources';
import { uniqueName } from './db';

const PASSWORD = 'box-farm-password';
const AUTH = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;

export interface BoxRun {
  box: Proc;
  url: string;
  suite: string;
  workerId: string;
  /** An admin request (form body when given) that must answer 2xx; returns the body. */
  call(method: string, path: string, form?: Record<string, string>): Promise<string>;
  /** pyBit's vcshook submission of a served source for the box's suite; returns the new job's id. */
  submit(method: 'git' | 'dsc', p: { name: string; version: string; uri: string; commit?: string }): Promise<number>;
}

export interface BoxFarm {
  sources: SourceServer;
  /** Starts a box with `args` (the broker's flags, say) and waits until its local worker is ready. */
  start(args: string[]): Promise<BoxRun>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

async function call(base: string, method: string, path: string, form?: Record<string, string>): Promise<string> {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: AUTH, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${text}`);
  return text;
}

/** `label` names the temp dirs, the suites (`uniqueName(label)`) and the worker ids. */
export async function startBoxFarm(label: string): Promise<BoxFarm> {
  const dirs = tempDirs();
  const sources = await SourceServer.start(dirs.make(`bb-${label}-src-`));
  const queues: string[] = [];
  const boxes: Proc[] = [];
  const stop = async () => {
    await Promise.all(boxes.splice(0).map((b) => b.stop()));
  };
  return {
    sources,
    stop,
    async start(args) {
      const suite = uniqueName(label);
      const workerId = uniqueName(`${label}w`);
      queues.push(buildQueueName('Debian', HOST_ARCH, suite, 'deb'));
      const box = runCli(
        ['box', '--port', '0', '--data-dir', dirs.make(`bb-${label}-data-`), ...args, '--backend', 'dpkg', '--suite', suite, '--worker-id', workerId, '--log-level', 'warn'],
        { BUILDBOX_ADMIN_PASSWORD: PASSWORD },
      );
      boxes.push(box);
      const line = await box.waitFor(/controller listening on /);
      const url = line.split('listening on ')[1]!.trim();
      await box.waitFor(/ready:/);
      // A fresh database: the suite and the arch are the first of their tables.
      await call(url, 'POST', '/suite', { name: suite });
      await call(url, 'POST', '/arch', { name: HOST_ARCH });
      await call(url, 'POST', '/suitearch', { suite_id: '1', arch_id: '1', master_weight: '1' });
      return {
        box,
        url,
        suite,
        workerId,
        call: (method, path, form) => call(url, method, path, form),
        async submit(method, p) {
          await call(url, 'POST', '/job/vcshook', {
            method,
            uri: p.uri,
            vcs_id: p.commit ?? '',
            distribution: 'Debian',
            architecture_list: HOST_ARCH,
            package_version: p.version,
            package: p.name,
            suite,
            format: 'deb',
          });
          const jobs = JSON.parse(await call(url, 'GET', '/job')) as Array<{ id: number; packageinstance: { package: { name: string } } }>;
          return jobs.filter((j) => j.packageinstance.package.name === p.name).pop()!.id;
        },
      };
    },
    async close() {
      await stop();
      const b = await Broker.connect();
      for (const q of queues) await b.deleteQueue(q);
      await b.close();
      await sources.close();
      dirs.cleanup();
    },
  };
}
