// The local worker supervisor with real child processes: restart with exponential back-off,
// crash counting, the back-off starting over after a healthy run, stop (SIGTERM, then SIGKILL),
// a spawn that throws, and the state reports the renderer receives. Also what `box` uses it
// with: `running` only once the worker says it is ready, its output echoed, the state before
// the first start, and `node <script>` children with an IPC channel handed over on every spawn.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerState } from '@shared/desktop-bridge';
import type { ChildProcess } from 'node:child_process';
import { forkProcess, nodeScriptProcess, workerReadyDetail, WorkerSupervisor, type WorkerSupervisorOptions } from '../../src-main/app/worker-supervisor';
import { tempDir } from '../helpers/db';
import { waitFor } from '../helpers/controller';

const FAKE = fileURLToPath(new URL('./fixtures/fake-worker.mjs', import.meta.url));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('WorkerSupervisor', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function setup(env: Record<string, string>, opts: Partial<WorkerSupervisorOptions> = {}) {
    const d = tempDir('buildbox-sup-');
    const starts = join(d.dir, 'starts');
    const states: WorkerState[] = [];
    const sup = new WorkerSupervisor({
      spawn: forkProcess(FAKE, ['--x'], { env: { ...process.env, FAKE_STARTS_FILE: starts, ...env } }),
      minDelayMs: 50,
      maxDelayMs: 200,
      healthyAfterMs: 60_000,
      stopGraceMs: 5_000,
      ...opts,
    });
    sup.onState((s) => states.push(s));
    cleanups.push(async () => {
      await sup.stop();
      d.cleanup();
    });
    const up = () => sup.state().status === 'running' && sup.state().recentOutput.some((l) => l.startsWith('fake worker'));
    const startCount = () => (existsSync(starts) ? readFileSync(starts, 'utf8').trim().split('\n').length : 0);
    return { sup, states, startCount, up };
  }

  it('restarts a crashing worker with doubling delays up to the cap, counting crashes', async () => {
    const logged: string[] = [];
    const { sup, states, startCount } = setup({ FAKE_CRASH_AFTER_MS: '0', FAKE_EXIT_CODE: '7' }, { log: (l) => logged.push(l) });
    sup.start();
    await waitFor('five starts', () => startCount() >= 5);
    const delays = states.filter((s) => s.status === 'backoff').map((s) => s.restartInMs);
    expect(delays.slice(0, 4)).toEqual([50, 100, 200, 200]);
    const backoff = states.find((s) => s.status === 'backoff')!;
    expect(backoff.lastExit).toMatchObject({ code: 7, signal: null });
    expect(backoff.detail).toMatch(/exited with code 7; restarting in 1 s/);
    // What it said last usually tells why it ended.
    expect(backoff.detail).toMatch(/\(last output: “(fake worker \d+ up|token unset)/);
    expect(logged).toContain('local worker exited (code 7); restarting in 50 ms');
    expect(backoff.recentOutput.some((l) => l.startsWith('fake worker'))).toBe(true);
    expect(backoff.recentOutput).toContain('token unset');
    const last = sup.state();
    expect(last.crashes).toBeGreaterThanOrEqual(4);
    expect(last.consecutiveCrashes).toBe(last.crashes);
    // The sequence of states is starting → running → backoff → starting → …
    const seq = states.map((s) => s.status);
    expect(seq.slice(0, 4)).toEqual(['starting', 'running', 'backoff', 'starting']);
  });

  it('starts the back-off over after the worker ran long enough to count as healthy', async () => {
    const { sup, states } = setup({ FAKE_CRASH_AFTER_MS: '400' }, { healthyAfterMs: 150, minDelayMs: 30, maxDelayMs: 10_000 });
    sup.start();
    await waitFor('three crashes', () => sup.state().crashes >= 3);
    const backoffs = states.filter((s) => s.status === 'backoff');
    expect(backoffs.map((s) => s.restartInMs)).toEqual(backoffs.map(() => 30));
    expect(backoffs.every((s) => s.consecutiveCrashes === 1)).toBe(true);
  });

  it('stop() sends SIGTERM, reports stopped, and no restart follows', async () => {
    const { sup, startCount, up } = setup({});
    sup.start();
    await waitFor('running', up);
    const pid = sup.state().pid!;
    expect(isAlive(pid)).toBe(true);
    await sup.stop();
    expect(sup.state()).toMatchObject({ status: 'stopped', pid: null, crashes: 0, restartInMs: null });
    expect(sup.state().recentOutput).toContain('stopping on SIGTERM');
    expect(isAlive(pid)).toBe(false);
    expect(startCount()).toBe(1);
    // Started again, it is a fresh process.
    sup.start();
    await waitFor('running again', () => up() && sup.state().recentOutput.some((l) => l.startsWith(`fake worker ${sup.state().pid} `)));
    expect(sup.state().pid).not.toBe(pid);
    await sup.stop('disabled', 'turned off in the settings');
    expect(sup.state()).toMatchObject({ status: 'disabled', detail: 'turned off in the settings' });
    expect(startCount()).toBe(2);
  });

  it('stop() during the back-off cancels the pending restart', async () => {
    const { sup, startCount } = setup({ FAKE_CRASH_AFTER_MS: '0' }, { minDelayMs: 60_000, maxDelayMs: 60_000 });
    sup.start();
    await waitFor('back-off', () => sup.state().status === 'backoff');
    expect(sup.state().restartInMs).toBe(60_000);
    await sup.stop();
    expect(sup.state()).toMatchObject({ status: 'stopped', restartInMs: null, crashes: 1 });
    expect(startCount()).toBe(1);
  });

  it('a worker that ignores SIGTERM is killed after the grace period', async () => {
    const { sup, up } = setup({ FAKE_IGNORE_TERM: '1' }, { stopGraceMs: 300 });
    sup.start();
    await waitFor('running', up);
    const pid = sup.state().pid!;
    await sup.stop();
    expect(isAlive(pid)).toBe(false);
    expect(sup.state().lastExit).toMatchObject({ signal: 'SIGKILL' });
    expect(sup.state().recentOutput).toContain('ignoring SIGTERM');
    expect(sup.state().status).toBe('stopped');
  });

  it('an option given as undefined keeps its default: stop() waits out a worker that takes a while to exit', async () => {
    // box passes its own optional settings through; `stopGraceMs: undefined` once meant a grace
    // period of 0 ms, and every worker was SIGKILLed at once instead of handing back its builds.
    const { sup, up } = setup({ FAKE_TERM_DELAY_MS: '500' }, { stopGraceMs: undefined, healthyAfterMs: undefined });
    sup.start();
    await waitFor('running', up);
    await sup.stop();
    expect(sup.state().lastExit).toMatchObject({ code: 0, signal: null });
    expect(sup.state().recentOutput).toContain('stopping on SIGTERM');
  });

  it('a worker killed from outside is restarted', async () => {
    const { sup, startCount, up } = setup({});
    sup.start();
    await waitFor('running', up);
    process.kill(sup.state().pid!, 'SIGKILL');
    await waitFor('restarted', () => startCount() === 2 && sup.state().status === 'running');
    expect(sup.state()).toMatchObject({ crashes: 1, lastExit: { signal: 'SIGKILL' } });
  });

  it('a spawn that throws is a crash with the reason, retried with back-off', async () => {
    let calls = 0;
    const sup = new WorkerSupervisor({
      spawn: () => {
        calls++;
        throw new Error('no worker entry');
      },
      minDelayMs: 20,
      maxDelayMs: 40,
    });
    cleanups.push(() => sup.stop());
    sup.start();
    await waitFor('three attempts', () => calls >= 3);
    expect(sup.state().detail).toMatch(/could not start: no worker entry/);
    await sup.stop();
    expect(sup.state().status).toBe('stopped');
  });

  it('with a ready test, a started worker is `starting` until it says it is ready; its output is echoed', async () => {
    const echoed: string[] = [];
    const { sup, states } = setup(
      { FAKE_READY_AFTER_MS: '400' },
      {
        ready: workerReadyDetail,
        echo: (l) => echoed.push(l),
        initial: { status: 'stopped', detail: 'waiting for the controller to start' },
      },
    );
    expect(sup.state()).toMatchObject({ status: 'stopped', detail: 'waiting for the controller to start', pid: null });
    sup.start('starting: dry-run backend');
    expect(sup.state()).toMatchObject({ status: 'starting', detail: 'starting: dry-run backend' });
    // Up and talking, not yet ready: still starting.
    await waitFor('first output', () => sup.state().recentOutput.some((l) => l.startsWith('fake worker')));
    expect(sup.state().status).toBe('starting');
    expect(sup.state().pid).toBeGreaterThan(0);
    await waitFor('running', () => sup.state().status === 'running');
    expect(sup.state().detail).toBe('ready: 1 slot(s), backend dry-run');
    expect(states.map((s) => s.status)).toEqual(['starting', 'running']);
    expect(echoed).toContain('[worker fake] ready: 1 slot(s), backend dry-run');
    expect(echoed.some((l) => l.startsWith('fake worker '))).toBe(true);
    // Killed: the restart is `starting` again until the new process says it is ready.
    const pid = sup.state().pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor('back-off', () => sup.state().status === 'backoff');
    expect(sup.state().detail).toContain('(last output: “ready: 1 slot(s), backend dry-run”)');
    await waitFor('running again', () => sup.state().status === 'running' && sup.state().pid !== pid);
    const again = states.slice(states.findIndex((s) => s.status === 'backoff'));
    expect(again.map((s) => s.status)).toEqual(['backoff', 'starting', 'running']);
  });

  it('nodeScriptProcess: every (re)spawn is handed to onChild with an IPC channel, and gets the environment', async () => {
    const children: ChildProcess[] = [];
    const sup = new WorkerSupervisor({
      spawn: nodeScriptProcess(FAKE, ['worker', '--x'], { env: { ...process.env, BUILDBOX_WORKER_TOKEN: 't' }, ipc: true, onChild: (c) => children.push(c) }),
      minDelayMs: 50,
      maxDelayMs: 200,
    });
    cleanups.push(() => sup.stop());
    const ping = (c: ChildProcess, n: number) =>
      new Promise<unknown>((resolve) => {
        c.on('message', (m) => resolve(m));
        c.send({ ping: n });
      });
    sup.start();
    await waitFor('running', () => sup.state().status === 'running' && sup.state().recentOutput.some((l) => l.startsWith('fake worker')));
    expect(sup.state().recentOutput).toContain('token set');
    expect(sup.state().recentOutput.find((l) => l.startsWith('fake worker'))).toContain('args ["worker","--x"]');
    expect(children).toHaveLength(1);
    expect(children[0]!.pid).toBe(sup.state().pid);
    expect(await ping(children[0]!, 1)).toEqual({ pong: 1, pid: children[0]!.pid });

    process.kill(children[0]!.pid!, 'SIGKILL');
    await waitFor('restarted', () => children.length === 2 && sup.state().status === 'running' && sup.state().pid === children[1]!.pid);
    await waitFor('new process talking', () => sup.state().recentOutput.some((l) => l.startsWith(`fake worker ${children[1]!.pid} `)));
    expect(await ping(children[1]!, 2)).toEqual({ pong: 2, pid: children[1]!.pid });
    expect(sup.state()).toMatchObject({ crashes: 1, lastExit: { signal: 'SIGKILL' } });

    // Without ipc the child has no channel.
    const plain = new WorkerSupervisor({ spawn: nodeScriptProcess(FAKE, [], { onChild: (c) => children.push(c) }) });
    cleanups.push(() => plain.stop());
    plain.start();
    await waitFor('plain running', () => plain.state().recentOutput.some((l) => l.startsWith('fake worker')));
    expect(children[2]!.connected).toBe(false);
    expect(plain.state().recentOutput).toContain('token unset');
  });
});
