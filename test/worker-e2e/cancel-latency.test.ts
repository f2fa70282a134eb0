// Cancelling a running build in `buildbox box` as a user runs it (default kill timings and
// lease): the controller's CancelRequest reaches the local worker's command queue — through
// RabbitMQ, or through the embedded in-process queue when no broker is reachable — and the
// worker stops the build's whole process group at once, even a grandchild that ignores SIGINT
// and SIGTERM, instead of sitting out the bounded waits meant for a build that is still
// cleaning up. The job ends Cancelled, no process of the build is left, and the stop came from
// the CancelRequest, not from the heartbeat's stop:true.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBoxFarm, type BoxFarm, type BoxRun } from '../helpers/box-farm';
import { AMQP_TEST_URL, uniqueName } from '../helpers/db';
import { processesMatching } from '../worker/helpers';
import { until } from './harness';

let boxes: BoxFarm;

beforeAll(async () => {
  boxes = await startBoxFarm('cxl');
});
afterEach(() => boxes.stop());
afterAll(() => boxes?.close());

// No --kill-timeout-seconds: the defaults a user gets (30 s after SIGINT, 10 s after SIGTERM).
// The default lease too (heartbeat every 10 s): a heartbeat answered between the cancel's
// commit and the CancelRequest's delivery would stop the build first, and a short lease made
// that likely enough to happen on a loaded machine.
const startBox = (amqpArgs: string[]) => boxes.start(amqpArgs);

interface ApiJob {
  id: number;
  status: string;
}

async function cancelRunningBuild(b: BoxRun): Promise<void> {
  const { box, url, call } = b;
  const g = boxes.sources.git({ name: uniqueName('bbcxl').toLowerCase().replace(/_/g, '-'), variant: 'sleep' });
  const id = await b.submit('git', g);
  const job = async () => JSON.parse(await call('GET', `/api/v1/jobs/${id}`)) as ApiJob;
  const history = async () => (JSON.parse(await call('GET', `/job/${id}/status`)) as Array<{ status: string }>).map((h) => h.status);

  // The build's sleeping grandchild (it ignores SIGINT and SIGTERM) is running.
  await until(() => processesMatching(`sleep ${g.marker}`).length > 0, 100);
  expect((await job()).status).toBe('Building');

  const res = JSON.parse(await call('POST', `/api/v1/jobs/${id}/cancel`)) as { cancelRequested: boolean };
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
  const ok = boxes.sources.git({ name: uniqueName('bbcxlok').toLowerCase().replace(/_/g, '-'), variant: 'ok' });
  const next = await b.submit('git', ok);
  await until(async () => ['Done', 'Failed', 'Cancelled'].includes((JSON.parse(await call('GET', `/api/v1/jobs/${next}`)) as ApiJob).status), 200);
  expect((JSON.parse(await call('GET', `/api/v1/jobs/${next}`)) as ApiJob).status).toBe('Done');
}

describe('cancelling a running build in buildbox box', () => {
  it('with the embedded queue (--no-amqp): the CancelRequest kills the build and the job is Cancelled', async () => {
    const b = await startBox(['--no-amqp']);
    expect(b.box.lines.join('\n')).toContain('using the embedded in-process queue');
    await cancelRunningBuild(b);
  });

  it('with RabbitMQ: the CancelRequest kills the build and the job is Cancelled', async () => {
    const b = await startBox(['--amqp', AMQP_TEST_URL]);
    expect(b.box.lines.join('\n')).not.toContain('embedded in-process queue');
    await cancelRunningBuild(b);
  });
});
