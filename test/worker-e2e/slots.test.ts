// --slots N: up to N builds at once, never more (the prefetch follows the free slots).
import { describe, expect, it } from 'vitest';
import { startWorkerFarm } from '../helpers/worker-farm';
import { HOST_ARCH } from '../worker/helpers';
import { until } from './harness';

describe('slots', () => {
  it('a 2-slot worker builds two jobs at a time and leaves the third waiting until a slot frees', async () => {
    const farm = await startWorkerFarm({ label: 'slots', slots: 2 });
    const { ctl, sources, suite, worker: w } = farm;
    try {
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
      await farm.close();
    }
  });
});
