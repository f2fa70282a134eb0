// `buildbox box` as a user runs it: controller + supervised local worker in one command, with
// RabbitMQ and with the embedded in-process queue when no broker is reachable.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBoxFarm, type BoxFarm, type BoxRun } from '../helpers/box-farm';
import { AMQP_TEST_URL } from '../helpers/db';
import { processesMatching } from '../worker/helpers';
import { until } from './harness';

let boxes: BoxFarm;

beforeAll(async () => {
  boxes = await startBoxFarm('box');
});
afterEach(() => boxes.stop());
afterAll(() => boxes?.close());

async function buildOne(b: BoxRun, name: string): Promise<string[]> {
  const id = await b.submit('dsc', boxes.sources.dsc({ name, variant: 'ok' }));
  let history: string[] = [];
  await until(async () => {
    history = (JSON.parse(await b.call('GET', `/job/${id}/status`)) as Array<{ status: string }>).map((h) => h.status);
    return ['Done', 'Failed', 'Cancelled'].includes(history[history.length - 1]);
  }, 200);
  return history;
}

describe('buildbox box', () => {
  it('with no broker reachable: says so, builds through the embedded queue, and restarts a worker that dies', async () => {
    const b = await boxes.start(['--amqp', 'amqp://guest:guest@127.0.0.1:1/']);
    const { box, url } = b;
    expect(box.lines.join('\n')).toContain('using the embedded in-process queue');
    expect(await buildOne(b, 'bbbox-embedded')).toEqual(['Waiting', 'Building', 'Done']);

    // kill -9 the local worker: the supervisor starts a new one, which builds the next job.
    const worker = processesMatching(`--controller ${url}`).find((p) => p.cmdline.includes(' worker '));
    expect(worker).toBeDefined();
    const readyBefore = box.lines.filter((l) => l.includes('ready:')).length;
    process.kill(worker!.pid, 'SIGKILL');
    await box.waitFor(/local worker exited .*restarting/);
    await until(() => box.lines.filter((l) => l.includes('ready:')).length > readyBefore);
    expect(await buildOne(b, 'bbbox-after-restart')).toEqual(['Waiting', 'Building', 'Done']);

    // SIGTERM stops the box and its worker.
    await box.stop('SIGTERM');
    expect((await box.exited).code).toBe(0);
    await until(() => processesMatching(`--controller ${url}`).length === 0);
  });

  it('with RabbitMQ: the local worker consumes from the broker', async () => {
    const b = await boxes.start(['--amqp', AMQP_TEST_URL]);
    expect(b.box.lines.join('\n')).not.toContain('embedded in-process queue');
    expect(b.box.lines.some((l) => l.includes('AMQP: connected'))).toBe(true);
    expect(await buildOne(b, 'bbbox-amqp')).toEqual(['Waiting', 'Building', 'Done']);
  });
});
