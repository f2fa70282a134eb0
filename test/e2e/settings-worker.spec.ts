// Settings → local worker, in both of its faces.
// Box: a real `buildbox box` (dry-run backend, embedded queue); the worker is turned off and on
// and its suites changed from the form, and the state on screen and on /api/v1/workers follows.
// Serve: no local worker, no section. Desktop: Chromium with `window.buildbox` provided by
// page.exposeFunction, each function calling the desktop app's real bridge handlers on a real
// AppCore in this test process (embedded controller, real worker process from dist/cli.js):
// a bad remote URL is refused with a readable message, "test connection" against a real
// `serve`, and turning the local worker off shows it disabled.
import { expect, test, type Page } from '@playwright/test';
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { defaultDesktopSettings, type DesktopSettings } from '../../src-shared/desktop-bridge';
import { AppCore } from '../../src-main/app/app-core';
import { createBridgeHandlers } from '../../src-main/app/ipc';
import { IPC } from '../../src-main/app/ipc-channels';
import type { LocalWorkerSpec } from '../../src-main/app/local-worker';
import type { SpawnWorker } from '../../src-main/app/worker-supervisor';
import type { EmbeddedQueue } from '../../src-worker/embedded-queue';
import { CLI, ok, openLoggedIn, rest, shot, startServer, unique, type Server } from './helpers';

const servers: Server[] = [];
test.afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function workerRow(s: Server, name: string): Promise<{ suites: string[] } | undefined> {
  const r = await ok(rest(s, 'GET', '/api/v1/workers', { auth: false }), 'workers');
  return r.json<Array<{ name: string; suites: string[] }>>().find((w) => w.name === name);
}

test('box: turn the local worker off and on and change its suites from Settings', async ({ page }) => {
  const id = unique('uiw');
  const suite = unique('s');
  const s = await startServer('box', ['--no-amqp', '--backend', 'dry-run', '--suite', suite, '--worker-id', id]);
  servers.push(s);
  await openLoggedIn(page, s, '/ui/settings');

  const section = page.getByRole('region', { name: 'Local worker' });
  const status = section.getByTestId('local-worker-status');
  await expect(status).toHaveText('running');
  await expect(section.getByTestId('local-worker-detail')).toContainText(`suites ${suite}`);
  await expect(section).toContainText('Given on this box’s command line: backend, suites');
  const form = section.getByRole('form', { name: 'local worker settings' });
  await expect(form.getByLabel('Suites')).toHaveValue(suite);

  // A value the server would refuse is caught beside its field; nothing is sent.
  await form.getByLabel('Slots').fill('0');
  await form.getByRole('button', { name: 'Save and apply' }).click();
  await expect(form.getByRole('alert')).toContainText('>=1');
  await form.getByLabel('Slots').fill('1');

  // Off.
  const pidBefore = await section.getByTestId('local-worker-pid').textContent();
  await form.getByLabel('Run the local worker').uncheck();
  await form.getByRole('button', { name: 'Save and apply' }).click();
  await expect(status).toHaveText('disabled');
  await expect(section.getByTestId('local-worker-pid')).toHaveText('none');
  await expect(form.getByRole('status')).toContainText('turned off');

  // On again with two other suites.
  const a = unique('s');
  const b = unique('s');
  await form.getByLabel('Run the local worker').check();
  await form.getByLabel('Suites').fill(`${a}, ${b}`);
  await form.getByRole('button', { name: 'Save and apply' }).click();
  await expect(status).toHaveText('running');
  await expect(section.getByTestId('local-worker-detail')).toContainText(`suites ${a}, ${b}`);
  await expect(section.getByTestId('local-worker-pid')).not.toHaveText(pidBefore ?? '');
  await expect(form.getByLabel('Suites')).toHaveValue(`${a} ${b}`);
  await expect.poll(async () => (await workerRow(s, `build_client_${id}`))?.suites.join(' ')).toBe(`${a} ${b}`);
  // The sticky page header would cover the top of an element screenshot.
  await page.addStyleTag({ content: 'header.top { position: static !important; }' });
  await section.screenshot({ path: shot('settings-local-worker-box').path });
});

test('serve: no local worker, so Settings has no such section', async ({ page }) => {
  const s = await startServer('serve', ['--no-amqp']);
  servers.push(s);
  await openLoggedIn(page, s, '/ui/settings');
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();
  await expect(page.getByTestId('credential-state')).toContainText('logged in');
  await expect(page.getByRole('heading', { name: 'Local worker' })).toHaveCount(0);
});

// ---- desktop mode ----

/** The local worker as a child process of this test (dist/cli.js worker), fed by the embedded queue. */
function cliWorker(spec: LocalWorkerSpec, queue: EmbeddedQueue | null): SpawnWorker {
  return () => {
    const child = fork(CLI, ['worker', ...spec.args], { env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    if (queue && spec.ipcQueue) queue.attach(child);
    const outputs: Array<(l: string) => void> = [];
    for (const st of [child.stdout, child.stderr]) if (st) createInterface({ input: st }).on('line', (l) => outputs.forEach((cb) => cb(l)));
    return {
      get pid() {
        return child.pid;
      },
      onSpawn: (cb) => void child.once('spawn', cb),
      onExit: (cb) => void child.once('close', (code, signal) => cb(code, signal)),
      onOutput: (cb) => void outputs.push(cb),
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal ?? 'SIGTERM');
      },
    };
  };
}

/**
 * `window.buildbox` in the page: each call goes to the app's real bridge handlers (the ones the
 * Electron main process registers), state pushes come back through page.evaluate.
 */
async function installBridge(page: Page, core: AppCore): Promise<void> {
  const handlers = createBridgeHandlers({
    getConnection: () => core.getConnection(),
    getWorkerState: () => core.getWorkerState(),
    getSettings: () => core.getSettings(),
    saveSettings: (x) => core.saveSettings(x),
    testConnection: (url, token) => core.testConnection(url, token),
    notifyJobSubmitted: (jobId) => core.notifyJobSubmitted(jobId),
  });
  await page.exposeFunction('__bbInvoke', (channel: keyof typeof handlers, args: unknown[]) => handlers[channel](...args));
  await page.addInitScript((ch) => {
    const listeners: Record<string, Set<(v: unknown) => void>> = { conn: new Set(), state: new Set() };
    const call = (name: string, ...args: unknown[]) => (globalThis as unknown as { __bbInvoke(c: string, a: unknown[]): Promise<unknown> }).__bbInvoke(name, args);
    const on = (kind: string) => (cb: (v: unknown) => void) => {
      listeners[kind]!.add(cb);
      return () => listeners[kind]!.delete(cb);
    };
    (globalThis as unknown as Record<string, unknown>).__bbPush = (kind: string, v: unknown) => listeners[kind]?.forEach((cb) => cb(v));
    (globalThis as unknown as Record<string, unknown>).buildbox = {
      getConnection: () => call(ch.getConnection),
      onConnectionChanged: on('conn'),
      getWorkerState: () => call(ch.getWorkerState),
      onWorkerState: on('state'),
      getSettings: () => call(ch.getSettings),
      saveSettings: (s: unknown) => call(ch.saveSettings, s),
      testConnection: (url: string, token: string) => call(ch.testConnection, url, token),
      notifyJobSubmitted: (id: number) => call(ch.notifyJobSubmitted, id),
    };
  }, IPC);
  const push = (kind: string, v: unknown) =>
    void page.evaluate(([k, value]) => (globalThis as unknown as { __bbPush?(k: string, v: unknown): void }).__bbPush?.(k as string, value), [kind, v] as const).catch(() => undefined);
  core.worker.onState((st) => push('state', st));
  core.connection.onChange((c) => push('conn', c));
}

test('desktop: connection form, test connection against a real serve, local worker off', async ({ page }) => {
  const remote = await startServer('serve', ['--no-amqp']);
  servers.push(remote);

  const dataDir = mkdtempSync(join(tmpdir(), 'buildbox-e2e-desktop-'));
  const suite = unique('s');
  const initial: DesktopSettings = defaultDesktopSettings();
  initial.embedded.amqp = null;
  initial.worker = { enabled: true, backend: 'dry-run', suites: [suite], chroots: null, slots: 1 };
  writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(initial));
  const lines: string[] = [];
  const core = new AppCore({
    dataDir,
    log: (l) => lines.push(l),
    notify: () => undefined,
    workerSpawner: cliWorker,
    controllerOptions: { logLevel: 'silent' },
    supervisor: { minDelayMs: 200, maxDelayMs: 2000, stopGraceMs: 15_000 },
    clientId: unique('desk'),
  });
  try {
    await core.start();
    await installBridge(page, core);
    const conn = await core.getConnection();
    await page.goto(`${conn.baseUrl}/ui/settings`);

    const section = page.getByRole('region', { name: 'Desktop app' });
    const form = section.getByRole('form', { name: 'desktop settings' });
    const status = section.getByTestId('local-worker-status');
    await expect(status).toHaveText('running');
    await expect(form.getByLabel('Suites')).toHaveValue(suite);

    // Remote with a URL that is not one: refused beside the fields, nothing saved or switched.
    await form.getByLabel('Remote controller').check();
    await form.getByLabel('Remote URL').fill('ftp://controller.invalid');
    await form.getByRole('button', { name: 'Save and apply' }).click();
    await expect(form.getByText('must be an http:// or https:// URL')).toBeVisible();
    await expect(form.getByText('required for a remote controller')).toBeVisible();
    expect(core.getSettings().settings.connection.mode).toBe('embedded');

    // Test connection: nothing listening → a readable reason; the real serve → accepted.
    await form.getByLabel('Remote URL').fill('http://127.0.0.1:1');
    await form.getByLabel('Remote token').fill(`admin:${remote.password}`);
    await form.getByRole('button', { name: 'Test remote connection' }).click();
    await expect(form.getByTestId('remote-test-result')).toContainText('cannot reach http://127.0.0.1:1');
    await form.getByLabel('Remote URL').fill(remote.url);
    await form.getByLabel('Remote token').fill('bbx_not-a-real-token');
    await form.getByRole('button', { name: 'Test remote connection' }).click();
    await expect(form.getByTestId('remote-test-result')).toContainText('refused the token');
    await form.getByLabel('Remote token').fill(`admin:${remote.password}`);
    await form.getByRole('button', { name: 'Test remote connection' }).click();
    await expect(form.getByTestId('remote-test-result')).toContainText(`connected to ${remote.url}`);
    await expect(form.getByTestId('remote-test-result')).toContainText('the token is accepted');

    // Stay embedded; turn the local worker off: the app stops it and the state follows live.
    await form.getByLabel('Embedded: this app runs the controller').check();
    await form.getByLabel('Run the local worker').uncheck();
    await form.getByRole('button', { name: 'Save and apply' }).click();
    await expect(form.getByText('Saved and applied.')).toBeVisible();
    await expect(status).toHaveText('disabled');
    await expect(section.getByTestId('local-worker-detail')).toHaveText('turned off in the settings');
    expect(core.getWorkerState().status).toBe('disabled');
    const onDisk = JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')) as DesktopSettings;
    expect(onDisk.worker.enabled).toBe(false);
    expect(onDisk.connection.mode).toBe('embedded');
    await page.addStyleTag({ content: 'header.top { position: static !important; }' });
    await section.screenshot({ path: shot('settings-desktop').path });
  } finally {
    await core.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
