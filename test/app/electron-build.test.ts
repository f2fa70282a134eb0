// `electron-vite build` produces the four parts of the desktop app: the main process, the
// local worker's utility-process entry, the sandboxed preload script (one self-contained
// CommonJS file) and the renderer.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/db';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('electron-vite build', () => {
  const out = tempDir('buildbox-electron-build-');
  afterAll(() => out.cleanup());

  it('builds main, worker entry, preload and renderer', async () => {
    const { stdout, stderr } = await promisify(execFile)('npx', ['electron-vite', 'build', '--outDir', out.dir], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`electron-vite build failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    });
    expect(`${stdout}${stderr}`).not.toMatch(/error/i);

    const main = readFileSync(join(out.dir, 'main', 'index.js'), 'utf8');
    expect(main).toContain('requestSingleInstanceLock');
    expect(main).toMatch(/sandbox: true/);
    expect(main).toMatch(/contextIsolation: true/);
    expect(main).toMatch(/nodeIntegration: false/);
    // Dependencies stay external (better-sqlite3 is native), Electron is never bundled.
    expect(main).toMatch(/from "better-sqlite3"/);
    expect(main).toMatch(/from "electron"/);

    const worker = readFileSync(join(out.dir, 'main', 'worker-entry.js'), 'utf8');
    expect(worker).toContain('parentPort');
    expect(worker).toMatch(/workerArgs/);
    expect(worker).not.toMatch(/from "electron"/);

    const preload = readFileSync(join(out.dir, 'preload', 'preload.cjs'), 'utf8');
    expect(preload).toContain('exposeInMainWorld("buildbox"');
    // A sandboxed preload may require only electron: everything else is inlined.
    const requires = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect([...new Set(requires)]).toEqual(['electron']);
    expect(preload).not.toMatch(/^\s*import\s/m);
    for (const fn of ['getConnection', 'onConnectionChanged', 'getWorkerState', 'onWorkerState', 'getSettings', 'saveSettings', 'testConnection', 'notifyJobSubmitted']) {
      expect(preload).toContain(`${fn}:`);
    }

    const html = readFileSync(join(out.dir, 'renderer', 'index.html'), 'utf8');
    const script = html.match(/<script[^>]+src="([^"]+)"/)?.[1];
    expect(script, html).toBeTruthy();
    // Absolute: the window opens deep routes, and the controller serves this build to browsers.
    expect(script).toMatch(/^\/assets\//);
    expect(existsSync(join(out.dir, 'renderer', script!.replace(/^\//, '')))).toBe(true);
    expect(readdirSync(join(out.dir, 'renderer', 'assets')).some((f) => f.endsWith('.js'))).toBe(true);
  });
});
