// The desktop main process without Electron, against real controllers: the embedded controller
// with its per-launch tokens and the supervised local worker, "test connection" (good token,
// wrong token, worker token, not a controller, nothing listening), switching embedded ↔ remote
// through the settings (tokens revoked, worker turned off and on, nothing saved when a switch
// fails), and job-finished notifications and tray counts from the controller's SSE stream.
import { createServer, type Server } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesktopConnection, DesktopSettings } from '@shared/desktop-bridge';
import { defaultDesktopSettings } from '@shared/desktop-bridge';
import { AppCore } from '../../src-main/app/app-core';
import { createLaunchTokens, testConnection } from '../../src-main/app/connection';
import { forkProcess } from '../../src-main/app/worker-supervisor';
import type { JobFinishedNotice } from '../../src-main/app/job-watcher';
import { startController, type Controller } from '../../src-main/controller/controller';
import { tempDir } from '../helpers/db';
import { waitFor } from '../helpers/controller';

const FAKE = fileURLToPath(new URL('./fixtures/fake-worker.mjs', import.meta.url));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function settingsWith(over: (s: DesktopSettings) => void): DesktopSettings {
  const s = defaultDesktopSettings();
  s.embedded.amqp = null;
  over(s);
  return s;
}

async function makeCore(initial: DesktopSettings, notices: JobFinishedNotice[] = []) {
  const d = tempDir('buildbox-app-');
  mkdirSync(d.dir, { recursive: true });
  writeFileSync(join(d.dir, 'settings.json'), JSON.stringify(initial));
  const lines: string[] = [];
  const core = new AppCore({
    dataDir: d.dir,
    log: (l) => lines.push(l),
    notify: (n) => notices.push(n),
    // The local worker's process is a stand-in that prints its arguments and stays up.
    workerSpawner: (spec) => forkProcess(FAKE, spec.args, { env: { ...process.env, ...spec.env } }),
    controllerOptions: { logLevel: 'silent', sampleData: true },
    supervisor: { minDelayMs: 50, maxDelayMs: 200, stopGraceMs: 5000 },
    clientId: 'desktop-test',
  });
  cleanups.push(async () => {
    await core.stop();
    d.cleanup();
  });
  const loaded = await core.start();
  return { core, dir: d.dir, lines, loaded };
}

async function remoteController(): Promise<{ c: Controller; token: string; workerToken: string }> {
  const d = tempDir('buildbox-remote-');
  const c = await startController({ dataDir: d.dir, port: 0, amqp: null, logLevel: 'silent' });
  cleanups.push(async () => {
    await c.close();
    d.cleanup();
  });
  const t = await createLaunchTokens(c.ctx.db);
  return { c, token: t.user.token, workerToken: t.worker.token };
}

async function api(conn: DesktopConnection, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${conn.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${conn.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

describe('embedded controller and test connection', () => {
  it('starts the controller on a random 127.0.0.1 port with a working per-launch token, and the local worker', async () => {
    const { core, loaded } = await makeCore(settingsWith(() => {}));
    expect(loaded.error).toBeNull();
    const conn = await core.getConnection();
    expect(conn.mode).toBe('embedded');
    expect(conn.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(conn.baseUrl).not.toMatch(/:8080$/);
    expect(conn.token).toMatch(/^bbx_/);
    // The token is accepted for API writes (an empty bulk cancel fails validation, not auth).
    expect((await api(conn, 'POST', '/api/v1/jobs/cancel', {})).status).toBe(400);

    await waitFor('worker up', () => core.getWorkerState().recentOutput.some((l) => l.startsWith('fake worker')));
    const w = core.getWorkerState();
    expect(w.status).toBe('running');
    const args = w.recentOutput.find((l) => l.startsWith('fake worker'))!;
    expect(args).toContain(`"--controller","${conn.baseUrl}"`);
    expect(args).toContain('"--amqp","ipc:"');
    expect(args).toContain('"--backend","dpkg"');
    expect(w.recentOutput).toContain('token set');
  });

  it('test connection: accepted, wrong token, worker token, not a controller, nothing listening, bad URL', async () => {
    const { c, token, workerToken } = await remoteController();
    const ok = await testConnection(`${c.url}/`, token);
    expect(ok).toMatchObject({ ok: true, baseUrl: c.url });
    expect(ok.ok && ok.message).toMatch(/token is accepted/);

    const wrong = await testConnection(c.url, 'bbx_not-a-real-token');
    expect(wrong).toEqual({ ok: false, baseUrl: c.url, error: 'the controller refused the token (401: invalid credentials)' });
    const worker = await testConnection(c.url, workerToken);
    expect(worker.ok).toBe(false);
    expect(!worker.ok && worker.error).toMatch(/^the token may not manage jobs \(403.*use a user token/);
    const basicOk = await testConnection(c.url, `admin:${token}`);
    expect(basicOk.ok).toBe(true);

    const other: Server = createServer((_req, res) => res.writeHead(404).end('nope'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => other.close(() => r())));
    const port = (other.address() as { port: number }).port;
    const notCtl = await testConnection(`http://127.0.0.1:${port}`, token);
    expect(!notCtl.ok && notCtl.error).toBe(`http://127.0.0.1:${port} does not answer as a Buildbox controller (GET /api/v1/stats gave HTTP 404)`);

    // A port nothing listens on any more.
    const dead: Server = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const down = await testConnection(`http://127.0.0.1:${deadPort}`, token);
    expect(!down.ok && down.error).toBe(`cannot reach http://127.0.0.1:${deadPort}: ECONNREFUSED`);

    expect(await testConnection('ftp://example.org', token)).toMatchObject({ ok: false, error: "'ftp://example.org' is not an http:// or https:// URL" });
    expect(await testConnection(c.url, '  ')).toMatchObject({ ok: false, error: expect.stringMatching(/token is required/) });
  });
});

describe('switching the connection', () => {
  it('embedded → remote → embedded: change events, launch tokens revoked, worker off and on, settings persisted', async () => {
    const { core, dir } = await makeCore(settingsWith(() => {}));
    const remote = await remoteController();
    const first = await core.getConnection();
    const changes: DesktopConnection[] = [];
    core.connection.onChange((c) => changes.push(c));
    await waitFor('worker running', () => core.getWorkerState().status === 'running');

    const toRemote = settingsWith((s) => {
      s.connection = { mode: 'remote', remoteUrl: `${remote.c.url}/`, remoteToken: remote.token };
    });
    const r1 = await core.saveSettings(toRemote);
    expect(r1.ok).toBe(true);
    expect(await core.getConnection()).toEqual({ mode: 'remote', baseUrl: remote.c.url, token: remote.token });
    expect(changes.map((c) => c.mode)).toEqual(['remote']);
    expect(core.getWorkerState()).toMatchObject({ status: 'disabled', detail: expect.stringMatching(/remote/) });
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')).connection.mode).toBe('remote');
    // The embedded controller is closed and its launch tokens revoked.
    await expect(fetch(`${first.baseUrl}/api/v1/stats`)).rejects.toThrow();
    const db = new Database(join(dir, 'buildbox.db'), { readonly: true });
    const rows = db.prepare("select kind, revoked_at from tokens where name like 'desktop-launch%'").all() as Array<{ kind: string; revoked_at: string | null }>;
    db.close();
    expect(rows.map((r) => r.kind).sort()).toEqual(['user', 'worker']);
    expect(rows.every((r) => r.revoked_at !== null)).toBe(true);

    // Saving the same target again changes nothing.
    expect((await core.saveSettings({ ...toRemote, closeToTray: true })).ok).toBe(true);
    expect(changes).toHaveLength(1);

    const back = await core.saveSettings(settingsWith(() => {}));
    expect(back.ok).toBe(true);
    const again = await core.getConnection();
    expect(again.mode).toBe('embedded');
    expect(again.token).not.toBe(first.token);
    expect((await api(again, 'POST', '/api/v1/jobs/cancel', {})).status).toBe(400);
    expect(changes.map((c) => c.mode)).toEqual(['remote', 'embedded']);
    await waitFor('worker running again', () => core.getWorkerState().recentOutput.some((l) => l.includes(again.baseUrl)));
    expect(core.getWorkerState().status).toBe('running');
  });

  it('bad settings are refused naming the field; a switch that fails keeps the old connection and file', async () => {
    const remote = await remoteController();
    const { core, dir } = await makeCore(
      settingsWith((s) => {
        s.connection = { mode: 'remote', remoteUrl: remote.c.url, remoteToken: remote.token };
      }),
    );
    expect((await core.getConnection()).mode).toBe('remote');
    const before = readFileSync(join(dir, 'settings.json'), 'utf8');

    const bad = await core.saveSettings({ connection: { mode: 'remote', remoteUrl: 'not a url', remoteToken: 'x' } });
    expect(bad).toEqual({ ok: false, error: 'connection.remoteUrl: must be an http:// or https:// URL' });

    // The embedded controller cannot bind a port that is taken.
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => busy.close(() => r())));
    const port = (busy.address() as { port: number }).port;
    const failed = await core.saveSettings(settingsWith((s) => (s.embedded.port = port)));
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.error).toMatch(/^could not switch the connection: .*EADDRINUSE/);
    expect(await core.getConnection()).toMatchObject({ mode: 'remote', baseUrl: remote.c.url });
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(before);
  });

  it('a broken settings file starts with the defaults and reports why', async () => {
    const d = tempDir('buildbox-app-');
    cleanups.push(() => d.cleanup());
    writeFileSync(join(d.dir, 'settings.json'), '{"embedded": {"port": -1}}');
    const core = new AppCore({
      dataDir: d.dir,
      log: () => {},
      notify: () => {},
      workerSpawner: (spec) => forkProcess(FAKE, spec.args),
      controllerOptions: { logLevel: 'silent' },
      brokerReachable: async () => false,
    });
    cleanups.push(() => core.stop());
    const loaded = await core.start();
    expect(loaded.error).toMatch(/embedded\.port/);
    expect(core.getSettings().error).toMatch(/using the defaults/);
    const conn = await core.getConnection();
    expect(conn.mode).toBe('embedded');
    // Default broker unreachable (probe says so): the embedded queue is used instead.
    expect(core.connection.embedded()?.queue).not.toBeNull();
    expect(core.connection.embedded()?.brokerNote).toMatch(/no RabbitMQ broker reachable.*embedded in-process queue/);
  });
});

describe('job notifications and tray counts from the event stream', () => {
  const hook = { package: 'hello', version: '1.0-1', arch_list: 'i386', dist: 'Debian', suite: 'chickpea', format: 'deb', method_type: 'git', uri: 'http://git.example/hello.git', vcs_id: 'abc' };

  it('notifies once when a watched job finishes, not for other jobs, and keeps Building/Waiting counts', async () => {
    const notices: JobFinishedNotice[] = [];
    const { core } = await makeCore(settingsWith((s) => (s.worker.enabled = false)), notices);
    const conn = await core.getConnection();
    expect(core.getWorkerState().status).toBe('disabled');

    const sub = await api(conn, 'POST', '/api/v1/jobs', hook);
    expect(sub.status, JSON.stringify(sub.json)).toBe(201);
    const [watched] = sub.json.jobIds as number[];
    const other = (await api(conn, 'POST', '/api/v1/jobs', { ...hook, version: '1.0-2', suite: 'illgill' })).json.jobIds[0] as number;
    await core.notifyJobSubmitted(watched);
    expect(core.jobs.watching()).toEqual([watched]);
    await waitFor('counts: 2 waiting', () => core.counts.get().waiting === 2 && core.counts.get().live);

    const put = (id: number, status: string) =>
      fetch(`${conn.baseUrl}/job/${id}`, {
        method: 'PUT',
        // pyBit's client protocol: HTTP Basic, here with the token as the password.
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`admin:${conn.token}`).toString('base64')}` }, body: `status=${status}&client=build_client_x` });
    expect((await put(watched, 'Building')).status).toBe(200);
    await waitFor('counts: 1 building', () => core.counts.get().building === 1 && core.counts.get().waiting === 1);
    expect((await put(other, 'Building')).status).toBe(200);
    expect((await put(other, 'Done')).status).toBe(200);
    expect((await put(watched, 'Done')).status).toBe(200);
    await waitFor('notice', () => notices.length > 0);
    expect(notices).toEqual([{ jobId: watched, status: 'Done', title: 'hello 1.0-1: Done', body: `Job ${watched} on i386/chickpea finished Done.` }]);
    expect(core.jobs.watching()).toEqual([]);
    await waitFor('counts: none', () => core.counts.get().building === 0 && core.counts.get().waiting === 0);

    // A job that finished before it was watched is reported at once; a Failed one too.
    const late = (await api(conn, 'POST', '/api/v1/jobs', { ...hook, version: '1.0-3' })).json.jobIds[0] as number;
    expect((await put(late, 'Failed')).status).toBe(200);
    const lateJob = await api(conn, 'GET', `/api/v1/jobs/${late}`);
    expect(lateJob.json.status, JSON.stringify(lateJob.json)).toBe('Failed');
    await core.notifyJobSubmitted(late);
    // Either the re-check on watch or the stream's (possibly late) event reports it; only once.
    await waitFor('late notice', () => notices.length >= 2);
    expect(notices.map((n) => [n.jobId, n.status])).toEqual([
      [watched, 'Done'],
      [late, 'Failed'],
    ]);
    await expect(core.notifyJobSubmitted(-1)).rejects.toThrow(/positive integer/);
  });

  it('a finish missed while the stream was down is reported after reconnecting', async () => {
    const notices: JobFinishedNotice[] = [];
    const { core } = await makeCore(settingsWith((s) => (s.worker.enabled = false)), notices);
    const conn = await core.getConnection();
    const id = (await api(conn, 'POST', '/api/v1/jobs', hook)).json.jobIds[0] as number;
    await core.notifyJobSubmitted(id);
    // Stop following the stream, finish the job, then follow again: the re-check on (re)open reports it.
    const events = (core as unknown as { events: { stop(): void; start(): void } }).events;
    events.stop();
    const r = await fetch(`${conn.baseUrl}/api/v1/jobs/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${conn.token}` } });
    expect(r.status).toBe(200);
    expect(notices).toEqual([]);
    events.start();
    await waitFor('notice after reconnect', () => notices.length === 1);
    expect(notices[0]).toMatchObject({ jobId: id, status: 'Cancelled' });
  });
});
