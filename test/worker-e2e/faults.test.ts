// Faults with real processes: a worker killed with SIGKILL mid-build, one stopped with SIGTERM
// mid-build, and the broker dropping every worker connection mid-run. No job may be lost, stuck
// in Building, or finished twice.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorkerFarm, type WorkerFarm } from '../helpers/worker-farm';
import { HOST_ARCH, processesMatching } from '../worker/helpers';
import { until, type Proc } from './harness';
import { FINAL_STATUSES as FINAL } from './controller-harness';

const markers: string[] = [];

afterEach(() => {
  // Builds orphaned by a SIGKILLed worker keep running in their own process groups.
  for (const m of markers.splice(0)) for (const p of processesMatching(m)) process.kill(p.pid, 'SIGKILL');
});

/** Broker-side connection ids of the given workers (named `buildbox-worker <client name>`). */
// rabbitmqctl runs asynchronously: the controller lives in this process and must keep answering
// heartbeats while the (slow) command runs.
const run = promisify(execFile);

async function workerConnections(names: string[]): Promise<string[]> {
  const { stdout: out } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.startsWith('<') && names.some((n) => l.includes(`"buildbox-worker ${n}"`)))
    .map((l) => l.split('\t')[0]);
}

/**
 * One slow build on a farm of two workers, waited for until its build step runs: the job, the
 * worker building it and the other one, and the build's `sleep` (a unique duration, so that the
 * test can find, and finally kill, this build's processes alone).
 */
async function slowBuildOnOneOfTwo(farm: WorkerFarm, name: string) {
  const { ctl, sources, suite, workers: procs } = farm;
  const slow = (4 + Math.floor(Math.random() * 1e6) / 1e7).toFixed(7);
  const sleeper = `sleep ${slow}`;
  markers.push(sleeper);
  const g = sources.git({ name, variant: 'ok', slowSeconds: slow });
  const id = await ctl.submit({ ...g, method: 'git', uri: g.uri, vcsId: g.commit, suite, arch: HOST_ARCH });
  await until(async () => (await ctl.job(id)).status === 'Building' && processesMatching(sleeper).length > 0, 100);
  const first = (await ctl.job(id)).client!;
  return { id, sleeper, victim: procs.find((p) => p.name === first)!, survivor: procs.find((p) => p.name !== first)! };
}

describe('faults', () => {
  it('kill -9 of a worker mid-build: the job is built by the other worker once the lease expires', async () => {
    const farm = await startWorkerFarm({ label: 'bbfault', leaseSeconds: 3, workers: 2, clientPrefix: 'f' });
    try {
      const { id, victim, survivor } = await slowBuildOnOneOfTwo(farm, 'bbfault-slow');
      victim.proc.child.kill('SIGKILL');
      await victim.proc.exited;

      const j = await farm.ctl.waitFinal(id);
      expect(j.status).toBe('Done');
      expect(j.client).toBe(survivor.name);
      // Building twice (first worker, then the second), one final status.
      expect(j.history.filter((s) => s === 'Building').length).toBe(2);
      expect(j.history.filter((s) => FINAL.includes(s))).toEqual(['Done']);
    } finally {
      await farm.close();
    }
  });

  it('SIGTERM of a worker mid-build: it stops the build and hands the job back, and the other worker builds it', async () => {
    // A long lease: the job must come back through the hand-back, not through the lease sweeper.
    const farm = await startWorkerFarm({ label: 'bbfault', leaseSeconds: 120, workers: 2, clientPrefix: 't' });
    try {
      const { id, sleeper, victim, survivor } = await slowBuildOnOneOfTwo(farm, 'bbfault-term');
      victim.proc.child.kill('SIGTERM');
      expect(await victim.proc.exited).toEqual({ code: 0, signal: null });
      expect(victim.proc.lines.some((l) => l.includes('received SIGTERM'))).toBe(true);

      const j = await farm.ctl.waitFinal(id);
      expect(j.status).toBe('Done');
      expect(j.client).toBe(survivor.name);
      // Handed back to Waiting in between, built twice, finished once.
      expect(j.history.join(' → ')).toMatch(/Building → Waiting → Building → Done$/);
      expect(j.history.filter((s) => FINAL.includes(s))).toEqual(['Done']);
      // Nothing of either build is left running.
      expect(processesMatching(sleeper)).toEqual([]);
    } finally {
      await farm.close();
    }
  });

  it('rabbitmqctl close_connection mid-run: every job reaches a final state exactly once', async () => {
    const farm = await startWorkerFarm({ label: 'bbfault', leaseSeconds: 5, workers: 2, clientPrefix: 'f' });
    const { ctl, sources, suite, workers: procs } = farm;
    try {
      const ids: number[] = [];
      for (let i = 0; i < 6; i++) {
        const g = sources.git({ name: `bbfault-many${i}`, variant: 'ok', slowSeconds: 1 });
        ids.push(await ctl.submit({ ...g, method: 'git', uri: g.uri, vcsId: g.commit, suite, arch: HOST_ARCH }));
      }
      // Once some job is building, drop every worker connection (twice, a little apart).
      await until(async () => (await Promise.all(ids.map((id) => ctl.job(id)))).some((j) => j.status === 'Building'), 100);
      for (let round = 0; round < 2; round++) {
        const conns = await workerConnections(procs.map((p) => p.name));
        expect(conns.length).toBeGreaterThan(0);
        for (const c of conns) await run('rabbitmqctl', ['-q', 'close_connection', c, 'e2e test drops the connection']);
        const lost = (p: { proc: Proc }) => p.proc.lines.filter((l) => l.includes('AMQP: connection') && l.includes('lost')).length;
        await until(() => procs.every((p) => lost(p) > round));
        await until(async () => (await workerConnections(procs.map((p) => p.name))).length === procs.length, 1000);
      }
      await until(async () => (await Promise.all(ids.map((id) => ctl.job(id)))).every((j) => FINAL.includes(j.status)), 250);
      for (const id of ids) {
        const j = await ctl.job(id);
        expect(j.status, `job ${id}`).toBe('Done');
        expect(j.history.filter((s) => FINAL.includes(s)), `job ${id}: ${j.history.join(' → ')}`).toEqual(['Done']);
      }
      // Both workers are still alive and connected.
      for (const p of procs) expect(p.proc.child.exitCode).toBe(null);
    } finally {
      await farm.close();
    }
  });
});
