// The web UI (src-renderer, built by Vite into out/renderer) served at `/`. pyBit's page paths
// (`/dashboard.htm`, `/job.htm`, …) answer with the same index.html and the client router opens
// the matching screen, so old bookmarks keep working. Only these paths, `/ui/*` (the client's
// own routes) and `/assets/*` are claimed: every REST route, /api/, /files/ and /metrics stay
// untouched, and unknown paths keep pyBit's 404.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthDeps } from './pybit/common';

/** pyBit's GUI pages (spec/pybit.md §3.2 and §6). */
export const PYBIT_PAGES = [
  'index.htm',
  'dashboard.htm',
  'arches.htm',
  'dists.htm',
  'formats.htm',
  'statuses.htm',
  'suites.htm',
  'buildd.htm',
  'job.htm',
  'lookups.htm',
  'package.htm',
  'packageinstance.htm',
  'envs.htm',
  'blacklist.htm',
] as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Buildbox</title></head>
<body><h1>Buildbox</h1>
<p>The web UI is not built. Run <code>npm run build:ui</code> (or <code>npm install</code>) and reload.
The REST API (pyBit routes and <code>/api/v1</code>) works without it.</p></body></html>
`;

/**
 * Where the built UI lives: $BUILDBOX_UI_DIR, else `out/renderer` found by walking up from this
 * module (src-main/controller/http when run from source, dist/ when bundled, out/main in Electron).
 */
export function findUiDir(): string | null {
  const env = process.env.BUILDBOX_UI_DIR;
  if (env) return resolve(env);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    for (const candidate of [join(dir, 'out', 'renderer'), join(dir, 'renderer')]) {
      if (existsSync(join(candidate, 'index.html'))) return candidate;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

export function registerUiRoutes(app: FastifyInstance, deps: AuthDeps): void {
  void deps;
  // Looked up per request until found, so building the UI while the controller runs just works.
  let uiDir: string | null = null;
  const root = () => (uiDir ??= findUiDir());

  const sendIndex = async (reply: FastifyReply) => {
    const dir = root();
    if (!dir) return reply.code(200).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    try {
      const html = await readFile(join(dir, 'index.html'));
      return reply.code(200).header('content-type', TYPES['.html']).header('cache-control', 'no-cache').send(html);
    } catch {
      uiDir = null;
      return reply.code(200).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    }
  };

  /** A file under the UI directory; refuses anything that would leave it. */
  const sendFile = async (reply: FastifyReply, rel: string, immutable: boolean) => {
    const dir = root();
    const notFound = () => reply.code(404).header('content-type', 'text/html').send('HTTP Error 404 - Not Found.');
    if (!dir) return notFound();
    let decoded: string;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      return notFound();
    }
    if (decoded.includes('\0') || decoded.split(/[\\/]/).includes('..')) return notFound();
    const full = resolve(dir, decoded);
    if (!full.startsWith(dir + sep)) return notFound();
    try {
      const s = await stat(full);
      if (!s.isFile()) return notFound();
      const body = await readFile(full);
      return reply
        .code(200)
        .header('content-type', TYPES[extname(full).toLowerCase()] ?? 'application/octet-stream')
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .send(body);
    } catch {
      return notFound();
    }
  };

  app.get('/', async (_req, reply) => sendIndex(reply));
  for (const page of PYBIT_PAGES) app.get(`/${page}`, async (_req, reply) => sendIndex(reply));
  // The client router's own paths: deep links and reloads land here.
  app.get('/ui', async (_req, reply) => sendIndex(reply));
  app.get('/ui/*', async (_req, reply) => sendIndex(reply));
  // Vite puts hashed bundles under assets/, so they may be cached for good.
  app.get('/assets/*', async (req, reply) => sendFile(reply, `assets/${(req.params as { '*': string })['*']}`, true));
  for (const icon of ['favicon.ico', 'favicon.png', 'favicon.svg']) {
    app.get(`/${icon}`, async (_req, reply) => sendFile(reply, icon, false));
  }
}
