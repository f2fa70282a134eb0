// `buildbox box` as a user runs it: controller + supervised local worker in one command, with
// RabbitMQ and with the embedded in-process queue when no broker is reachable.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildQueueName } from '../../src-shared/pybit-models';
import { AMQP_TEST_URL, uniqueName } from '../helpers/db';
import { HOST_ARCH, processesMatching, tempDirs } from '../worker/helpers';
import { Broker, runCli, stopAll, until, type Proc } from './harness';
import { SourceServer } from './sources';

const dirs = tempDirs();
const PASSWORD = 'box-e2e-password';
const auth = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
let sources: SourceServer;
const queues: string[] = [];

beforeAll(async () => {
  sources = await SourceServer.start(dirs.make('bb-box-src-'));
});
afterEach(() => stopAll());
afterAll(async () => {
  const b = await Broker.connect();
  for (const q of queues) await b.deleteQueue(q);
  await b.close();
  await sources.close();
  dirs.cleanup();
});

async function call(base: string, method: string, path: string, form?: Record<string, string>) {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: auth, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${text}`);
  return text;
}

async function startBox(amqp: string): Promise<{ box: Proc; url: string; suite: string; workerId: string }> {
  const suite = uniqueName('box');
  const workerId = uniqueName('boxw');
  queues.push(buildQueueName('Debian', HOST_ARCH, suite, 'deb'));
  const box = runCli(
    ['box', '--port', '0', '--data-dir', dirs.make('bb-box-data-'), '--amqp', amqp, '--backend', 'dpkg', '--suite', suite, '--worker-id', workerId, '--log-level', 'warn'],
    { BUILDBOX_ADMIN_PASSWORD: PASSWORD },
  );
  const line = await box.waitFor(/controller listening on /);
  const url = line.split('listening on ')[1].trim();
  await box.waitFor(/ready:/);
  await call(url, 'POST', '/suite', { name: suite });
  await call(url, 'POST', '/arch', { name: HOST_ARCH });
  await call(url, 'POST', '/suitearch', { suite_id: '1', arch_id: '1', master_weight: '1' });
  return { box, url, suite, workerId };
}

async function buildOne(url: string, suite: string, name: string): Promise<string[]> {
  const d = sources.dsc({ name, variant: 'ok' });
  await call(url, 'POST', '/job/vcshook', {
    method: 'dsc',
    uri: d.uri,
    vcs_id: '',
    distribution: 'Debian',
    architecture_list: HOST_ARCH,
    package_version: d.version,
    package: d.name,
    suite,
    format: 'deb',
  });
  const jobs = JSON.parse(await call(url, 'GET', '/job')) as Array<{ id: number; packageinstance: { package: { name: string } } }>;
  const id = jobs.filter((j) => j.packageinstance.package.name === name).pop()!.id;
  let history: string[] = [];
  await until(async () => {
    history = (JSON.parse(await call(url, 'GET', `/job/${id}/status`)) as Array<{ status: string }>).map((h) => h.status);
    return ['Done', 'Failed', 'Cancelled'].includes(history[history.length - 1]);
  }, 200);
  return history;
}

describe('buildbox box', () => {
  it('with no broker reachable: says so, builds through the embedded queue, and restarts a worker that dies', async () => {
    const { box, url, suite } = await startBox('amqp://guest:guest@127.0.0.1:1/');
    expect(box.lines.join('\n')).toContain('using the embedded in-process queue');
    expect(await buildOne(url, suite, 'bbbox-embedded')).toEqual(['Waiting', 'Building', 'Done']);

    // kill -9 the local worker: the supervisor starts a new one, which builds the next job.
    const worker = processesMatching(`--controller ${url}`).find((p) => p.cmdline.includes(' worker '));
    expect(worker).toBeDefined();
    const readyBefore = box.lines.filter((l) => l.includes('ready:')).length;
    process.kill(worker!.pid, 'SIGKILL');
    await box.waitFor(/local worker exited .*restarting/);
    await until(() => box.lines.filter((l) => l.includes('ready:')).length > readyBefore);
    expect(await buildOne(url, suite, 'bbbox-after-restart')).toEqual(['Waiting', 'Building', 'Done']);

    // SIGTERM stops the box and its worker.
    await box.stop('SIGTERM');
    expect((await box.exited).code).toBe(0);
    await until(() => processesMatching(`--controller ${url}`).length === 0);
  });

  it('with RabbitMQ: the local worker consumes from the broker', async () => {
    const { box, url, suite } = await startBox(AMQP_TEST_URL);
    expect(box.lines.join('\n')).not.toContain('embedded in-process queue');
    expect(box.lines.some((l) => l.includes('AMQP: connected'))).toBe(true);
    expect(await buildOne(url, suite, 'bbbox-amqp')).toEqual(['Waiting', 'Building', 'Done']);
  });
});
