// Security policy of the app's windows, as plain functions: the Content-Security-Policy, which
// URLs stay in the window and which go to the system browser, and how app:// URLs map to the
// built renderer's files.
import { existsSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';

/** The renderer is served from this privileged custom scheme (see app-protocol.ts). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'buildbox';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** The origin (scheme://host:port) of a controller base URL; throws on a non-http(s) URL. */
export function controllerOrigin(baseUrl: string): string {
  const u = new URL(baseUrl);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`controller URL must be http(s): ${baseUrl}`);
  return u.origin;
}

/**
 * The page's CSP: scripts only from the app itself, network only to the controller (REST, SSE,
 * artifact and log downloads), no plugins, no framing, no form posts elsewhere.
 * `dev` relaxes it for the Vite dev server (inline React refresh preamble, HMR websocket).
 */
export function buildCsp(controllerBaseUrl: string | null, opts: { dev?: string } = {}): string {
  const ctl = controllerBaseUrl ? controllerOrigin(controllerBaseUrl) : '';
  const dev = opts.dev ? new URL(opts.dev) : null;
  const devWs = dev ? `${dev.protocol === 'https:' ? 'wss' : 'ws'}://${dev.host}` : '';
  const list = (...xs: string[]) => xs.filter(Boolean).join(' ');
  return [
    `default-src 'none'`,
    `script-src ${list("'self'", dev ? "'unsafe-inline'" : '')}`,
    // React sets style attributes; Vite injects <style> in dev.
    `style-src 'self' 'unsafe-inline'`,
    `img-src ${list("'self'", 'data:', 'blob:', ctl)}`,
    `font-src 'self' data:`,
    `connect-src ${list("'self'", ctl, devWs)}`,
    `manifest-src 'self'`,
    `worker-src 'self' blob:`,
    `base-uri 'none'`,
    `form-action 'none'`,
    `frame-ancestors 'none'`,
    `object-src 'none'`,
  ].join('; ');
}

/** URLs the window itself may show: the app's own pages (and the dev server while developing). */
export function isAppUrl(url: string, devUrl?: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST) return true;
  if (devUrl) {
    try {
      return u.origin === new URL(devUrl).origin;
    } catch {
      return false;
    }
  }
  return false;
}

/** Links that may be handed to the system browser / mail client; anything else is dropped. */
export function isExternalOpenable(url: string): boolean {
  try {
    const p = new URL(url).protocol;
    return p === 'http:' || p === 'https:' || p === 'mailto:';
  } catch {
    return false;
  }
}

export type AppFile = { kind: 'file'; path: string } | { kind: 'not-found' };

/**
 * Maps an app:// URL to a file under `root`. Paths that name no file and have no extension are
 * client-side routes and get index.html (old pyBit bookmarks such as /job.htm are routes too,
 * so .htm/.html also fall back). Nothing outside `root` is ever returned.
 */
export function resolveAppFile(root: string, url: string): AppFile {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url).pathname);
  } catch {
    return { kind: 'not-found' };
  }
  if (pathname.includes('\0')) return { kind: 'not-found' };
  const rootN = normalize(root.endsWith(sep) ? root : root + sep);
  const candidate = normalize(join(rootN, pathname));
  if (!candidate.startsWith(rootN) && candidate + sep !== rootN) return { kind: 'not-found' };
  const index = join(rootN, 'index.html');
  if (candidate + sep === rootN || candidate === rootN) return { kind: 'file', path: index };
  if (existsSync(candidate) && statSync(candidate).isFile()) return { kind: 'file', path: candidate };
  const ext = extname(candidate).toLowerCase();
  if (ext === '' || ext === '.htm' || ext === '.html') return { kind: 'file', path: index };
  return { kind: 'not-found' };
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

export function mimeType(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
}
