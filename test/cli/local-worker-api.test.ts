// /api/v1/local-worker against a real `buildbox box` (its own port and data directory, the
// embedded queue, real worker processes): reading the state, changing backend, suites and slots
// as an administrator (the worker restarts and says hello with the new settings), turning it
// off and on, refusing bad bodies and non-administrators, keeping the settings across a box
// restart (flags given on the command line win), and `serve` having no such route.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LocalWorkerInfo } from '@shared/local-worker-api';
import { uniqueName } from '../helpers/db';
import { processesMatching, tempDirs } from '../worker/helpers';
import { runCli, stopAll, until, type Proc } from '../worker-e2e/harness';
import { cli } from './helpers';

const dirs = tempDirs();
const PASSWORD = 'local-worker-api-pw';
const ADMIN = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;

afterEach(() => stopAll());
afterAll(() => dirs.cleanup());

interface Box {
  proc: Proc;
  url: string;
}

async function startBox(dataDir: string, args: string[]): Promise<Box> {
  const proc = runCli(['box', '--port', '0', '--data-dir', dataDir, '--no-amqp', '--log-level', 'warn', ...args], { BUILDBOX_ADMIN_PASSWORD: PASSWORD });
  const line = await proc.waitFor(/controller listening on /);
  return { proc, url: line.split('listening on ')[1]!.trim() };
}

async function call(url: string, method: string, body?: unknown, authorization: string | null = ADMIN): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}/api/v1/local-worker`, {
    method,
    headers: { ...(authorization ? { authorization } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function info(url: string): Promise<LocalWorkerInfo> {
  const r = await call(url, 'GET', undefined, null);
  expect(r.status).toBe(200);
  return LocalWorkerInfo.parse(r.json);
}

async function untilStatus(url: string, status: string): Promise<LocalWorkerInfo> {
  let last: LocalWorkerInfo | null = null;
  await until(async () => {
    last = await info(url);
    return last.state.status === status;
  });
  return last!;
}

async function registeredWorker(url: string, name: string): Promise<{ suites: string[]; backend: string | null; slots: number } | undefined> {
  const r = await fetch(`${url}/api/v1/workers`);
  const all = (await r.json()) as Array<{ name: string; suites: string[]; backend: string | null; slots: number }>;
  return all.find((w) => w.name === name);
}

describe('buildbox box: /api/v1/local-worker', () => {
  it('reports the worker, applies changes by restarting it, refuses bad input and non-admins', async () => {
    const dataDir = dirs.make('bb-lw-data-');
    const id = uniqueName('lw');
    const s1 = uniqueName('s');
    const box = await startBox(dataDir, ['--backend', 'dry-run', '--suite', s1, '--worker-id', id]);

    const first = await untilStatus(box.url, 'running');
    expect(first).toMatchObject({ enabled: true, backend: 'dry-run', suites: [s1], slots: 1, clientId: id, settingsError: null });
    expect(first.setByFlags.sort()).toEqual(['backend', 'suites']);
    expect(first.state.pid).toBeGreaterThan(0);
    expect(first.state.recentOutput.some((l) => l.includes('ready:'))).toBe(true);
    // `running` means the worker said it consumes its queues, and the detail is what it said.
    expect(first.state.detail).toMatch(new RegExp(`^ready: 1 slot\\(s\\), backend dry-run, .*suites ${s1}`));
    expect(Date.parse(first.state.startedAt!)).toBeGreaterThan(Date.now() - 120_000);
    await until(async () => (await registeredWorker(box.url, `build_client_${id}`))?.suites[0] === s1);

    // Change backend, suites and slots: a new process, which says hello with the new settings.
    const s2 = uniqueName('s');
    const s3 = uniqueName('s');
    const put = await call(box.url, 'PUT', { backend: 'dpkg', suites: [s2, s3], slots: 2 });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ backend: 'dpkg', suites: [s2, s3], slots: 2 });
    const second = await untilStatus(box.url, 'running');
    expect(second.state.pid).not.toBe(first.state.pid);
    expect(second.state.restarts).toBe(0); // a restart asked for is not a crash
    expect(processesMatching(`--client-id ${id}`).map((p) => p.pid)).toEqual([second.state.pid]);
    await until(async () => {
      const w = await registeredWorker(box.url, `build_client_${id}`);
      return w?.backend === 'dpkg' && w.slots === 2 && w.suites.join() === [s2, s3].join();
    });
    const saved = JSON.parse(readFileSync(join(dataDir, 'local-worker.json'), 'utf8'));
    expect(saved).toEqual({ enabled: true, backend: 'dpkg', suites: [s2, s3], chroots: null, slots: 2 });

    // Bad bodies: 400 naming the field, and nothing changes (no file write, no restart).
    const bad: Array<[unknown, string]> = [
      [{ slots: 0 }, "'slots'"],
      [{ suites: [] }, "'suites'"],
      [{ suites: ['no spaces'] }, "'suites.0'"],
      [{ backend: 'chroot-magic' }, "'backend'"],
      [{ chroots: 'relative/dir' }, "'chroots'"],
      [{ enabled: 'yes' }, "'enabled'"],
      [{ colour: 'red' }, "'colour'"],
      [[1, 2], 'JSON object'],
    ];
    for (const [body, field] of bad) {
      const r = await call(box.url, 'PUT', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toContain(field);
    }
    const badJson = await call(box.url, 'PUT', '{"slots":');
    expect(badJson.status).toBe(400);
    expect(JSON.parse(readFileSync(join(dataDir, 'local-worker.json'), 'utf8'))).toEqual(saved);
    expect((await info(box.url)).state.pid).toBe(second.state.pid);

    // Who may change it: no credential → 401; a worker token or a user who is no admin → 403.
    expect((await call(box.url, 'PUT', { slots: 3 }, null)).status).toBe(401);
    const add = await cli(['user', 'add', 'bob', '--password', 'bob-pw', '--data-dir', dataDir]);
    expect(add.code, add.stderr).toBe(0);
    const bob = await call(box.url, 'PUT', { slots: 3 }, `Basic ${Buffer.from('bob:bob-pw').toString('base64')}`);
    expect(bob.status).toBe(403);
    expect(bob.json.error).toContain('administrator');
    const wt = await cli(['user', 'token', 'lw-test', '--worker', '--data-dir', dataDir]);
    expect(wt.code, wt.stderr).toBe(0);
    const workerToken = /bbx_\S+/.exec(wt.stdout)![0];
    expect((await call(box.url, 'PUT', { slots: 3 }, `Bearer ${workerToken}`)).status).toBe(403);
    expect((await info(box.url)).slots).toBe(2);

    // A worker that dies is restarted and counted.
    process.kill(second.state.pid!, 'SIGKILL');
    await until(async () => {
      const i = await info(box.url);
      return i.state.restarts === 1 && i.state.status === 'running' && i.state.pid !== second.state.pid;
    });
    expect((await info(box.url)).state.lastExit).toMatchObject({ signal: 'SIGKILL' });

    // Off: the process ends and the state says so; on again: a new one.
    const off = await call(box.url, 'PUT', { enabled: false });
    expect(off.status).toBe(200);
    expect(off.json.state).toMatchObject({ status: 'disabled', pid: null, startedAt: null, detail: 'turned off in the settings' });
    expect(processesMatching(`--client-id ${id}`)).toEqual([]);
    const on = await call(box.url, 'PUT', { enabled: true });
    expect(on.json.state.status).toBe('starting');
    const third = await untilStatus(box.url, 'running');
    expect(processesMatching(`--client-id ${id}`).map((p) => p.pid)).toEqual([third.state.pid]);

    await box.proc.stop('SIGTERM');
    expect((await box.proc.exited).code).toBe(0);
    await until(() => processesMatching(`--client-id ${id}`).length === 0);

    // Restarted without flags: the saved settings apply.
    const again = await startBox(dataDir, ['--worker-id', id]);
    const restored = await untilStatus(again.url, 'running');
    expect(restored).toMatchObject({ enabled: true, backend: 'dpkg', suites: [s2, s3], slots: 2, setByFlags: [] });
    await again.proc.stop('SIGTERM');

    // Restarted with --suite: that flag wins for its field, the file gives the rest.
    const s9 = uniqueName('s');
    const flagged = await startBox(dataDir, ['--worker-id', id, '--suite', s9]);
    const mixed = await untilStatus(flagged.url, 'running');
    expect(mixed).toMatchObject({ backend: 'dpkg', suites: [s9], slots: 2, setByFlags: ['suites'] });
    await until(async () => (await registeredWorker(flagged.url, `build_client_${id}`))?.suites.join() === s9);
  }, 180_000);

  it('a box whose saved settings are turned off starts no worker; a broken file is reported and the defaults apply', async () => {
    const dataDir = dirs.make('bb-lw-data-');
    const id = uniqueName('lw');
    writeFileSync(join(dataDir, 'local-worker.json'), JSON.stringify({ enabled: false, backend: 'dry-run', suites: ['x'], chroots: null, slots: 1 }));
    const box = await startBox(dataDir, ['--worker-id', id]);
    const i = await info(box.url);
    expect(i).toMatchObject({ enabled: false, backend: 'dry-run', state: { status: 'disabled', pid: null } });
    expect(processesMatching(`--client-id ${id}`)).toEqual([]);

    // Another chroot directory: the tarballs in it are listed (changes while off start nothing).
    const chroots = dirs.make('bb-lw-chroots-');
    writeFileSync(join(chroots, 'bookworm-arm64.tar.zst'), '');
    writeFileSync(join(chroots, 'notes.txt'), '');
    const moved = await call(box.url, 'PUT', { chroots, backend: 'sbuild' });
    expect(moved.status).toBe(200);
    expect(moved.json).toMatchObject({ chroots, chrootsDir: chroots, backend: 'sbuild', chrootsAvailable: [{ name: 'bookworm', arch: 'arm64', file: 'bookworm-arm64.tar.zst' }] });
    expect(moved.json.state.status).toBe('disabled');
    expect(processesMatching(`--client-id ${id}`)).toEqual([]);
    await box.proc.stop('SIGTERM');

    writeFileSync(join(dataDir, 'local-worker.json'), '{"slots": "many"');
    const broken = await startBox(dataDir, ['--worker-id', id, '--backend', 'dry-run']);
    const b = await untilStatus(broken.url, 'running');
    expect(b.settingsError).toContain('local-worker.json');
    expect(b).toMatchObject({ enabled: true, backend: 'dry-run', slots: 1 });
  }, 120_000);

  it('serve runs no local worker: the route is not there', async () => {
    const serve = runCli(['serve', '--port', '0', '--data-dir', dirs.make('bb-lw-serve-'), '--no-amqp', '--log-level', 'warn'], { BUILDBOX_ADMIN_PASSWORD: PASSWORD });
    const url = (await serve.waitFor(/controller listening on /)).split('listening on ')[1]!.trim();
    expect((await call(url, 'GET', undefined, null)).status).toBe(404);
    expect((await call(url, 'PUT', { enabled: false })).status).toBe(404);
  });
});
