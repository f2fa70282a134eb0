// Cancelling a running build in `buildbox box` as a user runs it (default kill timings, short
// lease): the controller's CancelRequest reaches the local worker's command queue — through
// RabbitMQ, or through the embedded in-process queue when no broker is reachable — and the
// worker stops the build's whole process group at once, even a grandchild that ignores SIGINT
// and SIGTERM, instead of sitting out the bounded waits meant for a build that is still
// cleaning up. The job ends Cancelled, no process of the build is left, and the stop came from
// the CancelRequest, not from the heartbeat's stop:true.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildQueueName } from '../../src-shared/pybit-models';
import { AMQP_TEST_URL, uniqueName } from '../helpers/db';
import { HOST_ARCH, processesMatching, tempDirs } from '../worker/helpers';
import { Broker, runCli, stopAll, until, type Proc } from './harness';
import { SourceServer } from './sources';

const dirs = tempDirs();
const PASSWORD = 'cancel-latency-password';
const auth = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
let sources: SourceServer;
const queues: string[] = [];

beforeAll(async () => {
  sources = await SourceServer.start(dirs.make('bb-cancel-src-'));
});
afterEach(() => stopAll());
afterAll(async () => {
  const b = await Broker.connect();
  for (const q of queues) await b.deleteQueue(q);
  await b.close();
  await sources.close();
  dirs.cleanup();
});

async function call(base: string, method: string, path: string, body?: Record<string, string>): Promise<string> {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: auth, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: body ? new URLSearchParams(body).toString() : undefined,
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${text}`);
  return text;
}

async function startBox(amqpArgs: string[]): Promise<{ box: Proc; url: string; suite: string }> {
  const suite = uniqueName('cxl');
  queues.push(buildQueueName('Debian', HOST_ARCH, suite, 'deb'));
  // No --kill-timeout-seconds: the defaults a user gets (30 s after SIGINT, 10 s after SIGTERM).
  const box = runCli(
    ['box', '--port', '0', '--data-dir', dirs.make('bb-cancel-data-'), ...amqpArgs, '--backend', 'dpkg', '--suite', suite, '--worker-id', uniqueName('cxlw'), '--lease-seconds', '6', '--log-level', 'warn'],
    { BUILDBOX_ADMIN_PASSWORD: PASSWORD },
  );
  const line = await box.waitFor(/controller listening on /);
  const url = line.split('listening on ')[1].trim();
  await box.waitFor(/ready:/);
  await call(url, 'POST', '/suite', { name: suite });
  await call(url, 'POST', '/arch', { name: HOST_ARCH });
  await call(url, 'POST', '/suitearch', { suite_id: '1', arch_id: '1', master_weight: '1' });
  return { box, url, suite };
}

interface ApiJob {
  id: number;
  status: string;
}

async function cancelRunningBuild(box: Proc, url: string, suite: string): Promise<void> {
  const g = sources.git({ name: uniqueName('bbcxl').toLowerCase().replace(/_/g, '-'), variant: 'sleep' });
  await call(url, 'POST', '/job/vcshook', {
    method: 'git',
    uri: g.uri,
    vcs_id: g.commit,
    distribution: 'Debian',
    architecture_list: HOST_ARCH,
    package_version: g.version,
    package: g.name,
    suite,
    format: 'deb',
  });
  const jobs = JSON.parse(await call(url, 'GET', '/job')) as Array<{ id: number; packageinstance: { package: { name: string } } }>;
  const id = jobs.filter((j) => j.packageinstance.package.name === g.name).pop()!.id;
  const job = async () => JSON.parse(await call(url, 'GET', `/api/v1/jobs/${id}`)) as ApiJob;
  const history = async () => (JSON.parse(await call(url, 'GET', `/job/${id}/status`)) as Array<{ status: string }>).map((h) => h.status);

  // The build's sleeping grandchild (it ignores SIGINT and SIGTERM) is running.
  await until(() => processesMatching(`sleep ${g.marker}`).length > 0, 100);
  expect((await job()).status).toBe('Building');

  const res = JSON.parse(await call(url, 'POST', `/api/v1/jobs/${id}/cancel`)) as { cancelRequested: boolean };
  expect(res.cancelRequested).toBe(true);

  await until(async () => (await job()).status === 'Cancelled', 100);
  expect(await history()).toEqual(['Waiting', 'Building', 'Cancelled']);
  // Nothing of the build survives, the ignoring grandchild included.
  await until(() => processesMatching(g.marker).length === 0, 100);

  // The stop came through the command queue, not from a heartbeat answer.
  const lines = box.lines.join('\n');
  expect(lines).toContain(`job ${id}: cancel requested; stopping the build`);
  expect(lines).not.toContain(`job ${id}: the controller says stop`);
  // The escalation moved on because nothing in the group could react to SIGINT or SIGTERM (the
  // sleeping grandchild ignores both, everything else waits for it), not because a bounded
  // wait ran out.
  const log = await (await fetch(`${url}/api/v1/jobs/${id}/log?offset=0&length=10000000`)).text();
  const steps = [...log.matchAll(/^(?:Sent SIG\w+ to process group|Nothing left in process group \d+ reacts to SIG\w+).*$/gm)].map((m) => m[0].replace(/\d+/g, 'N'));
  expect(steps).toEqual([
    'Sent SIGINT to process group N',
    'Nothing left in process group N reacts to SIGINT (it is ignored or only waited for)',
    'Sent SIGTERM to process group N',
    'Nothing left in process group N reacts to SIGTERM (it is ignored or only waited for)',
    'Sent SIGKILL to process group N',
  ]);
  expect(log).not.toContain('survived SIGKILL');

  // The worker is idle again and builds the next job.
  const ok = sources.git({ name: uniqueName('bbcxlok').toLowerCase().replace(/_/g, '-'), variant: 'ok' });
  await call(url, 'POST', '/job/vcshook', {
    method: 'git',
    uri: ok.uri,
    vcs_id: ok.commit,
    distribution: 'Debian',
    architecture_list: HOST_ARCH,
    package_version: ok.version,
    package: ok.name,
    suite,
    format: 'deb',
  });
  const all = JSON.parse(await call(url, 'GET', '/job')) as Array<{ id: number; packageinstance: { package: { name: string } } }>;
  const next = all.filter((j) => j.packageinstance.package.name === ok.name).pop()!.id;
  await until(async () => ['Done', 'Failed', 'Cancelled'].includes((JSON.parse(await call(url, 'GET', `/api/v1/jobs/${next}`)) as ApiJob).status), 200);
  expect((JSON.parse(await call(url, 'GET', `/api/v1/jobs/${next}`)) as ApiJob).status).toBe('Done');
}

describe('cancelling a running build in buildbox box', () => {
  it('with the embedded queue (--no-amqp): the CancelRequest kills the build and the job is Cancelled', async () => {
    const { box, url, suite } = await startBox(['--no-amqp']);
    expect(box.lines.join('\n')).toContain('using the embedded in-process queue');
    await cancelRunningBuild(box, url, suite);
  });

  it('with RabbitMQ: the CancelRequest kills the build and the job is Cancelled', async () => {
    const { box, url, suite } = await startBox(['--amqp', AMQP_TEST_URL]);
    expect(box.lines.join('\n')).not.toContain('embedded in-process queue');
    await cancelRunningBuild(box, url, suite);
  });
});
