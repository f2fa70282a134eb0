// --slots N: up to N builds at once, never more (the prefetch follows the free slots).
import { afterAll, describe, expect, it } from 'vitest';
import { buildQueueName } from '../../src-shared/pybit-models';
import { uniqueName } from '../helpers/db';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { Broker, startWorker, stopAll, until } from './harness';
import { TestController } from './controller-harness';
import { SourceServer } from './sources';

const dirs = tempDirs();
afterAll(async () => {
  await stopAll();
  dirs.cleanup();
});

describe('slots', () => {
  it('a 2-slot worker builds two jobs at a time and leaves the third waiting until a slot frees', async () => {
    const suite = uniqueName('slots');
    const ctl = await TestController.start();
    const sources = await SourceServer.start(dirs.make('bb-slots-src-'));
    const broker = await Broker.connect();
    try {
      await ctl.addTarget(suite, HOST_ARCH);
      const w = startWorker({ clientId: uniqueName('s'), suite, arch: HOST_ARCH, buildroot: dirs.make(), controller: ctl.url, token: ctl.workerToken, slots: 2 });
      await w.waitFor(/ready:/);
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) {
        const g = sources.git({ name: `bbslots${i}`, variant: 'ok', slowSeconds: 1 });
        ids.push(await ctl.submit({ ...g, method: 'git', uri: g.uri, vcsId: g.commit, suite, arch: HOST_ARCH }));
      }
      let maxBuilding = 0;
      let sawTwoWithOneWaiting = false;
      await until(async () => {
        const js = await Promise.all(ids.map((id) => ctl.job(id)));
        const building = js.filter((j) => j.status === 'Building').length;
        maxBuilding = Math.max(maxBuilding, building);
        if (building === 2 && js.some((j) => j.status === 'Waiting')) sawTwoWithOneWaiting = true;
        return js.every((j) => j.status === 'Done');
      }, 100);
      expect(maxBuilding).toBe(2);
      expect(sawTwoWithOneWaiting).toBe(true);
      // The third message was not held by the busy worker: it sat in the queue.
      expect(w.lines.filter((l) => /job \d+: claimed/.test(l))).toHaveLength(3);
    } finally {
      await stopAll();
      await ctl.close();
      await broker.deleteQueue(buildQueueName('Debian', HOST_ARCH, suite, 'deb'));
      await broker.close();
      await sources.close();
    }
  });
});
