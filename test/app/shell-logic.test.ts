// The desktop shell's pure parts: window security policy, app:// file mapping, the worker's
// command line, the SSE parser, the bridge's argument checks and the menu.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultDesktopSettings } from '@shared/desktop-bridge';
import { buildCsp, isAppUrl, isExternalOpenable, resolveAppFile } from '../../src-main/app/window-policy';
import { localWorkerSpec, workerArgs } from '../../src-main/app/local-worker';
import { SseParser } from '../../src-main/app/controller-events';
import { BridgeArgumentError, createBridgeHandlers, type BridgeServices } from '../../src-main/app/ipc';
import { IPC } from '../../src-main/app/ipc-channels';
import { buildMenuTemplate } from '../../src-main/app/menu';
import { describeFinishedJob } from '../../src-main/app/job-watcher';
import { backoffDelay } from '../../src-main/app/worker-supervisor';
import { authorizationHeader } from '../../src-main/app/connection';
import { tempDir } from '../helpers/db';

describe('window policy', () => {
  it('the CSP allows scripts only from the app and network only to the controller', () => {
    const csp = buildCsp('http://127.0.0.1:41234');
    const dir = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(dir['default-src']).toEqual(["'none'"]);
    expect(dir['script-src']).toEqual(["'self'"]);
    expect(dir['connect-src']).toEqual(["'self'", 'http://127.0.0.1:41234']);
    expect(dir['object-src']).toEqual(["'none'"]);
    expect(dir['frame-ancestors']).toEqual(["'none'"]);
    expect(csp).not.toContain('unsafe-eval');
    expect(buildCsp('https://builds.example.org/base/')).toContain('connect-src \'self\' https://builds.example.org;');
    expect(buildCsp(null)).toContain("connect-src 'self';");
    const dev = buildCsp('http://127.0.0.1:1', { dev: 'http://localhost:5173' });
    expect(dev).toContain("script-src 'self' 'unsafe-inline'");
    expect(dev).toContain('ws://localhost:5173');
    expect(() => buildCsp('file:///etc/passwd')).toThrow(/http/);
  });

  it('only app:// (and the dev server) stay in the window; only http(s)/mailto go outside', () => {
    expect(isAppUrl('app://buildbox/ui/jobs/3')).toBe(true);
    expect(isAppUrl('app://other/')).toBe(false);
    expect(isAppUrl('http://127.0.0.1:8080/ui/jobs')).toBe(false);
    expect(isAppUrl('http://localhost:5173/x', 'http://localhost:5173')).toBe(true);
    expect(isAppUrl('file:///etc/passwd')).toBe(false);
    expect(isExternalOpenable('https://example.org')).toBe(true);
    expect(isExternalOpenable('mailto:a@b')).toBe(true);
    expect(isExternalOpenable('file:///etc/passwd')).toBe(false);
    expect(isExternalOpenable('javascript:alert(1)')).toBe(false);
  });

  const ui = tempDir('buildbox-ui-');
  afterAll(() => ui.cleanup());
  it('maps app:// URLs to files under the renderer directory, routes to index.html, never outside', () => {
    const root = join(ui.dir, 'renderer');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<html>');
    writeFileSync(join(root, 'assets', 'app.js'), '');
    writeFileSync(join(ui.dir, 'secret.txt'), 'no');
    expect(resolveAppFile(root, 'app://buildbox/')).toEqual({ kind: 'file', path: join(root, 'index.html') });
    expect(resolveAppFile(root, 'app://buildbox/assets/app.js')).toEqual({ kind: 'file', path: join(root, 'assets', 'app.js') });
    expect(resolveAppFile(root, 'app://buildbox/ui/jobs/42')).toEqual({ kind: 'file', path: join(root, 'index.html') });
    expect(resolveAppFile(root, 'app://buildbox/dashboard.htm')).toEqual({ kind: 'file', path: join(root, 'index.html') });
    expect(resolveAppFile(root, 'app://buildbox/assets/missing.js')).toEqual({ kind: 'not-found' });
    expect(resolveAppFile(root, 'app://buildbox/../secret.txt')).not.toEqual({ kind: 'file', path: join(ui.dir, 'secret.txt') });
    expect(resolveAppFile(root, 'app://buildbox/%2e%2e/secret.txt')).toEqual({ kind: 'not-found' });
    expect(resolveAppFile(root, 'app://buildbox/assets/%00.js')).toEqual({ kind: 'not-found' });
  });
});

describe('local worker command line', () => {
  it('passes the controller, queue, backend, suites and build root; the token only in the environment', () => {
    const s = defaultDesktopSettings();
    s.worker = { enabled: true, backend: 'sbuild', suites: ['unstable', 'trixie'], chroots: '/c', slots: 2 };
    const spec = localWorkerSpec({ settings: s, controllerUrl: 'http://127.0.0.1:5000', workerToken: 'bbx_w', amqp: null, dataDir: '/data', clientId: 'desktop-x' });
    expect(spec.args).toEqual([
      '--controller', 'http://127.0.0.1:5000', '--amqp', 'ipc:', '--client-id', 'desktop-x', '--backend', 'sbuild', '--slots', '2',
      '--buildroot', '/data/worker', '--chroots', '/c', '--suite', 'unstable', '--suite', 'trixie',
    ]);
    expect(spec.args.join(' ')).not.toContain('bbx_w');
    expect(spec.env).toEqual({ BUILDBOX_WORKER_TOKEN: 'bbx_w' });
    expect(spec.ipcQueue).toBe(true);
    const amqp = localWorkerSpec({ settings: s, controllerUrl: 'http://127.0.0.1:5000', workerToken: 'bbx_w', amqp: 'amqp://h/', dataDir: '/data', clientId: 'desktop-x' });
    expect(amqp.ipcQueue).toBe(false);
    expect(amqp.args[3]).toBe('amqp://h/');
    expect(amqp.key).not.toBe(spec.key);
  });

  it('the worker entry reads its arguments from BUILDBOX_WORKER_ARGS', () => {
    expect(workerArgs({ BUILDBOX_WORKER_ARGS: '["--slots","2"]' }, ['x'])).toEqual(['--slots', '2']);
    expect(workerArgs({}, ['x'])).toEqual(['x']);
    expect(() => workerArgs({ BUILDBOX_WORKER_ARGS: '{"a":1}' }, [])).toThrow(/JSON array of strings/);
    expect(() => workerArgs({ BUILDBOX_WORKER_ARGS: 'nope' }, [])).toThrow(/not JSON/);
  });
});

describe('back-off', () => {
  it('doubles per consecutive crash up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 1000, 30_000, 2))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

describe('SSE parser', () => {
  it('splits frames across chunks, handles CRLF, comments, multi-line data, ids and retry', () => {
    const p = new SseParser();
    expect(p.feed('retry: 2000\n: connected\n\nid: 7\nevent: job.st')).toEqual([]);
    expect(p.feed('atus\ndata: {"a":\ndata: 1}\n')).toEqual([]);
    expect(p.feed('\n')).toEqual([{ id: '7', event: 'job.status', data: '{"a":\n1}' }]);
    expect(p.retryMs).toBe(2000);
    expect(p.lastEventId).toBe('7');
    expect(p.feed('data: x\r\n\r')).toEqual([]);
    expect(p.feed('\ndata: y\r\r\n')).toEqual([
      { id: '7', event: 'message', data: 'x' },
      { id: '7', event: 'message', data: 'y' },
    ]);
  });
});

describe('bridge handlers', () => {
  const calls: unknown[][] = [];
  const services: BridgeServices = {
    getConnection: async () => ({ baseUrl: 'http://127.0.0.1:1', token: 't', mode: 'embedded' }),
    getWorkerState: () => ({ status: 'disabled', pid: null, crashes: 0, consecutiveCrashes: 0, restartInMs: null, lastExit: null, detail: '', recentOutput: [] }),
    getSettings: () => ({ settings: defaultDesktopSettings(), error: null, path: '/x' }),
    saveSettings: async (s) => (calls.push(['save', s]), { ok: true, settings: defaultDesktopSettings() }),
    testConnection: async (u, t) => (calls.push(['test', u, t]), { ok: true, baseUrl: u, message: 'ok' }),
    notifyJobSubmitted: async (id) => void calls.push(['notify', id]),
  };
  const h = createBridgeHandlers(services);

  it('exposes exactly the named functions', () => {
    expect(Object.keys(h).sort()).toEqual(
      [IPC.getConnection, IPC.getWorkerState, IPC.getSettings, IPC.saveSettings, IPC.testConnection, IPC.notifyJobSubmitted].sort(),
    );
  });

  it('checks arguments before they reach the app', async () => {
    await expect(h[IPC.notifyJobSubmitted](0)).rejects.toThrow(BridgeArgumentError);
    await expect(h[IPC.notifyJobSubmitted]('5')).rejects.toThrow(/jobId must be a positive integer/);
    await expect(h[IPC.testConnection](5, 't')).rejects.toThrow(/url must be a string/);
    await expect(h[IPC.testConnection]('http://x', 'a'.repeat(5000))).rejects.toThrow(/token is longer/);
    expect(await h[IPC.saveSettings](null)).toEqual({ ok: false, error: 'settings must be an object' });
    expect(calls).toEqual([]);
    await h[IPC.notifyJobSubmitted](12);
    await h[IPC.testConnection]('http://x', 'bbx_1');
    expect(calls).toEqual([['notify', 12], ['test', 'http://x', 'bbx_1']]);
  });
});

describe('menu and notices', () => {
  it('menu items open the UI routes', () => {
    const opened: string[] = [];
    const t = buildMenuTemplate({ open: (r) => opened.push(r), openInBrowser() {}, openDataDir() {}, quit() {} }, 'linux');
    const items = t.flatMap((m) => (Array.isArray(m.submenu) ? m.submenu : []));
    for (const i of items) if (i.click && /Dashboard|Jobs|Settings|Submit/.test(String(i.label))) (i.click as () => void)();
    expect(opened).toEqual(['/ui/submit', '/ui/dashboard', '/ui/jobs', '/ui/settings']);
  });

  it('a finished-job notice names the package, where it built and the result', () => {
    expect(describeFinishedJob(5, 'Failed', { package: 'hello', version: '1.0-1', arch: 'i386', suite: 'unstable', result: 'DEPFAIL', resultDetails: 'libfoo-dev' })).toEqual({
      jobId: 5,
      status: 'Failed',
      title: 'hello 1.0-1: Failed',
      body: 'Job 5 on i386/unstable finished Failed (DEPFAIL: libfoo-dev).',
    });
    expect(describeFinishedJob(6, 'Done', null).title).toBe('Job 6: Done');
  });

  it('credentials become Bearer or Basic headers', () => {
    expect(authorizationHeader('bbx_abc')).toBe('Bearer bbx_abc');
    expect(authorizationHeader('admin:pw')).toBe(`Basic ${Buffer.from('admin:pw').toString('base64')}`);
  });
});
