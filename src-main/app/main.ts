// The desktop app's main process: one instance, the embedded (or remote) controller and the
// local worker through AppCore, the window, the tray, the menu and notifications.
import { app, BrowserWindow, dialog, ipcMain, Menu, shell } from 'electron';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppCore } from './app-core';
import { createBridgeHandlers, registerBridge } from './ipc';
import { IPC } from './ipc-channels';
import { buildMenuTemplate } from './menu';
import { showJobFinished } from './notifications';
import { AppTray } from './tray';
import { utilityWorkerSpawner } from './utility-worker';
import { workerReadyDetail } from './worker-supervisor';
import { appUrl, createMainWindow, handleAppScheme, registerAppScheme, rendererPaths, type WindowContext } from './window';
import { controllerOrigin, isAppUrl } from './window-policy';

const here = dirname(fileURLToPath(import.meta.url));
const devUrl = process.env.ELECTRON_RENDERER_URL || undefined;
const resources = join(here, '..', '..', 'resources', 'icons');
const icons = { app: join(resources, 'icon.png'), tray: join(resources, 'tray.png') };

// The embedded controller's SQLite addon built for this Electron (scripts/electron-native.mjs);
// `npm start` names it, and a launch by other means finds it where that script puts it.
if (!process.env.BUILDBOX_SQLITE_BINDING) {
  const built = join(here, '..', '..', 'node_modules', '.buildbox-electron', `better_sqlite3-electron-${process.versions.electron}-${process.arch}.node`);
  if (existsSync(built)) process.env.BUILDBOX_SQLITE_BINDING = built;
}

function log(line: string): void {
  process.stdout.write(`[buildbox] ${line}\n`);
}

let mainWindow: BrowserWindow | null = null;
let core: AppCore | null = null;
let tray: AppTray | null = null;
let quitting = false;
let windowCtx: WindowContext | null = null;

function broadcast(channel: string, payload: unknown): void {
  for (const w of BrowserWindow.getAllWindows()) if (!w.isDestroyed()) w.webContents.send(channel, payload);
}

function showWindow(ctx: WindowContext, route?: string): void {
  if (mainWindow && !mainWindow.isDestroyed()) {
    if (route) void mainWindow.loadURL(appUrl(route, devUrl));
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.show();
    mainWindow.focus();
    return;
  }
  mainWindow = createMainWindow(ctx, route ?? '/ui/dashboard');
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
}

async function start(): Promise<void> {
  const dataDir = app.getPath('userData');
  const c = (core = new AppCore({
    dataDir,
    log,
    notify: (n) => showJobFinished(n, (id) => showWindow(ctx, `/ui/jobs/${id}`), icons.app),
    workerSpawner: (spec, queue) => utilityWorkerSpawner(join(here, 'worker-entry.js'), spec, queue),
    // 'running' once the worker consumes its queues, not merely once its process is up.
    supervisor: { ready: workerReadyDetail },
  }));
  const ctx: WindowContext = {
    ...rendererPaths(here),
    iconPath: icons.app,
    controllerUrl: () => c.connection.current()?.baseUrl ?? null,
    devUrl,
  };
  windowCtx = ctx;
  handleAppScheme(ctx);
  registerBridge(
    ipcMain,
    createBridgeHandlers({
      getConnection: () => c.getConnection(),
      getWorkerState: () => c.getWorkerState(),
      getSettings: () => c.getSettings(),
      saveSettings: (s) => c.saveSettings(s),
      testConnection: (url, token) => c.testConnection(url, token),
      notifyJobSubmitted: (id) => c.notifyJobSubmitted(id),
    }),
    (url) => isAppUrl(url, devUrl),
  );

  let origin: string | null = null;
  c.connection.onChange((conn) => {
    broadcast(IPC.connectionChanged, conn);
    // The page's CSP names the controller's origin; a new origin needs a fresh page.
    const next = controllerOrigin(conn.baseUrl);
    if (origin && origin !== next && mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.reload();
    origin = next;
  });
  c.worker.onState((s) => broadcast(IPC.workerState, s));

  const open = (route: string) => showWindow(ctx, route);
  const quit = () => app.quit();
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      buildMenuTemplate({
        open,
        quit,
        openInBrowser: () => {
          const conn = c.connection.current();
          if (conn) void shell.openExternal(`${conn.baseUrl}/ui/dashboard`);
        },
        openDataDir: () => void shell.openPath(dataDir),
      }),
    ),
  );
  try {
    tray = new AppTray(icons.tray, { open, quit });
    c.counts.onChange((counts) => tray?.update(counts));
  } catch (e) {
    // Some desktops have no status area; the app works without the tray.
    log(`no tray icon: ${(e as Error).message}`);
  }

  try {
    await c.start();
  } catch (e) {
    // The window still opens: the Settings screen can point the app at another controller.
    const msg = (e as Error).message;
    log(`could not connect: ${msg}`);
    dialog.showErrorBox('Buildbox could not start its controller', `${msg}\n\nOpen Settings to change the connection.`);
  }
  showWindow(ctx);
}

// Tests and side-by-side profiles: a user data directory of their own (also the lock's scope).
if (process.env.BUILDBOX_USER_DATA_DIR) app.setPath('userData', process.env.BUILDBOX_USER_DATA_DIR);

if (!app.requestSingleInstanceLock()) {
  // Another instance runs already; it gets the 'second-instance' event and shows its window.
  app.quit();
} else {
  registerAppScheme();
  app.on('second-instance', () => {
    if (windowCtx) showWindow(windowCtx);
  });
  app.on('window-all-closed', () => {
    const keep = core?.getSettings().settings.closeToTray && tray;
    if (!keep && process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (windowCtx) showWindow(windowCtx);
  });
  app.on('before-quit', (event) => {
    if (quitting || !core) return;
    // Stop the worker (it hands running builds back) and close the controller before exiting.
    event.preventDefault();
    quitting = true;
    const c = core;
    c.stop()
      .catch((e: unknown) => log(`error while stopping: ${(e as Error).message}`))
      .finally(() => {
        tray?.destroy();
        app.exit(0);
      });
  });
  app.whenReady().then(start, (e: unknown) => {
    log(`startup failed: ${(e as Error).stack ?? String(e)}`);
    app.exit(1);
  });
}
