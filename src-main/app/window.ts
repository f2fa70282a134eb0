// The main window and the app:// scheme it loads the renderer from. Serving the built UI from a
// privileged custom scheme (rather than file://) gives the page a real origin, absolute asset
// paths and client-side routes that work, and lets every response carry the CSP header.
import { BrowserWindow, net, protocol, session, shell } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { APP_HOST, APP_ORIGIN, APP_SCHEME, buildCsp, isAppUrl, isExternalOpenable, mimeType, resolveAppFile } from './window-policy';

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  ]);
}

export interface WindowContext {
  rendererDir: string;
  preloadPath: string;
  iconPath?: string;
  /** The controller the page may talk to (connect-src); read at every response. */
  controllerUrl: () => string | null;
  /** The Vite dev server, when running `electron-vite dev`. */
  devUrl?: string;
}

/** Serves out/renderer under app://buildbox/ with the CSP on every response. */
export function handleAppScheme(ctx: WindowContext): void {
  protocol.handle(APP_SCHEME, async (req) => {
    const u = new URL(req.url);
    if (u.host !== APP_HOST) return new Response('not found', { status: 404 });
    const f = resolveAppFile(ctx.rendererDir, req.url);
    if (f.kind === 'not-found') return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
    const res = await net.fetch(pathToFileURL(f.path).toString());
    const headers = new Headers(res.headers);
    headers.set('content-type', mimeType(f.path));
    headers.set('content-security-policy', buildCsp(ctx.controllerUrl()));
    headers.set('x-content-type-options', 'nosniff');
    return new Response(res.body, { status: res.status, headers });
  });
  if (ctx.devUrl) {
    // The dev server's responses get the (relaxed) CSP too.
    const devOrigin = new URL(ctx.devUrl).origin;
    session.defaultSession.webRequest.onHeadersReceived({ urls: [`${devOrigin}/*`] }, (details, cb) => {
      cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [buildCsp(ctx.controllerUrl(), { dev: ctx.devUrl })] } });
    });
  }
}

export function appUrl(route = '/', devUrl?: string): string {
  const path = route.startsWith('/') ? route : `/${route}`;
  return devUrl ? new URL(path, devUrl).toString() : `${APP_ORIGIN}${path}`;
}

export function createMainWindow(ctx: WindowContext, route = '/'): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Buildbox',
    icon: ctx.iconPath,
    webPreferences: {
      preload: ctx.preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());

  const openOutside = (url: string) => {
    if (isExternalOpenable(url)) void shell.openExternal(url);
  };
  // New windows never open inside the app: links go to the system browser.
  win.webContents.setWindowOpenHandler(({ url }) => {
    openOutside(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event, url) => {
    if (isAppUrl(url, ctx.devUrl)) return;
    event.preventDefault();
    openOutside(url);
  });
  win.webContents.on('will-redirect', (event, url) => {
    if (isAppUrl(url, ctx.devUrl)) return;
    event.preventDefault();
  });
  // No <webview>s, no permission prompts (camera, notifications from the page, …).
  win.webContents.on('will-attach-webview', (event) => event.preventDefault());
  win.webContents.session.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));

  void win.loadURL(appUrl(route, ctx.devUrl));
  return win;
}

export function rendererPaths(mainDir: string): { rendererDir: string; preloadPath: string } {
  return { rendererDir: join(mainDir, '..', 'renderer'), preloadPath: join(mainDir, '..', 'preload', 'preload.cjs') };
}
