// The apt repositories over HTTP: static files under /repo/<dist>/… (what apt fetches) and
// GET /api/v1/repo/:dist, what each suite's repository holds.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Ctx } from '../context';
import { HttpError } from '../http/errors';
import { commandRunner } from './command-runner';
import { repoRoot, type PublishService } from './publish-service';
import { RepreproRepos, isSafeName, type RepoEntry } from './reprepro-repo';

const services = new WeakMap<Ctx, PublishService>();

/** Lets the routes share the running publisher's per-repository serialisation. */
export function attachPublishService(ctx: Ctx, s: PublishService): void {
  services.set(ctx, s);
}

const TYPES: Record<string, string> = {
  '.deb': 'application/vnd.debian.binary-package',
  '.udeb': 'application/vnd.debian.binary-package',
  '.ddeb': 'application/vnd.debian.binary-package',
  '.gz': 'application/gzip',
  '.xz': 'application/x-xz',
  '.bz2': 'application/x-bzip2',
  '.zst': 'application/zstd',
  '.gpg': 'application/pgp-signature',
  '.asc': 'application/pgp-signature',
  '.dsc': 'text/plain; charset=utf-8',
  '.changes': 'text/plain; charset=utf-8',
  '.buildinfo': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

export function contentTypeOf(name: string): string {
  // Release, InRelease, Packages, Sources and other extension-less index files are text.
  return TYPES[extname(name).toLowerCase()] ?? (extname(name) === '' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
}

/** What a repository directory shows: apt's trees and the published .changes, never conf/ or db/. */
const PUBLIC_DIRS = ['dists', 'pool', 'changes'];

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function registerRepoRoutes(app: FastifyInstance, ctx: Ctx): void {
  const root = repoRoot(ctx.config.dataDir);
  let readOnly: RepreproRepos | null = null;
  const repos = () => services.get(ctx)?.repos ?? (readOnly ??= new RepreproRepos(root, commandRunner((l) => ctx.log.debug(l)), null));

  const serve = async (rel: string, reply: FastifyReply) => {
    const decoded = rel.split('/').filter((p) => p !== '');
    // Only the published trees: no conf/, db/ or work directories of reprepro.
    if (decoded.some((p) => p.startsWith('.') || p.includes('\\'))) throw new HttpError(404, 'not found');
    if (decoded.length >= 2 && !PUBLIC_DIRS.includes(decoded[1]!)) throw new HttpError(404, 'not found');
    const path = normalize(join(root, ...decoded));
    if (path !== root && !path.startsWith(root + sep)) throw new HttpError(404, 'not found');
    const st = await stat(path).catch(() => null);
    if (!st) throw new HttpError(404, `no such file: /repo/${decoded.join('/')}`);
    if (st.isDirectory()) {
      let names = (await readdir(path, { withFileTypes: true })).filter((d) => !d.name.startsWith('.'));
      if (decoded.length === 1) names = names.filter((d) => PUBLIC_DIRS.includes(d.name));
      if (decoded.length === 0) names = names.filter((d) => d.isDirectory());
      const here = `/repo/${decoded.map(encodeURIComponent).join('/')}${decoded.length ? '/' : ''}`;
      const items = names.map((d) => `<li><a href="${here}${encodeURIComponent(d.name)}${d.isDirectory() ? '/' : ''}">${escapeHtml(d.name)}${d.isDirectory() ? '/' : ''}</a></li>`);
      return reply.header('content-type', 'text/html; charset=utf-8').send(`<!doctype html><title>Index of ${escapeHtml(here)}</title><h1>Index of ${escapeHtml(here)}</h1><ul>${decoded.length ? '<li><a href="../">../</a></li>' : ''}${items.join('')}</ul>`);
    }
    if (!st.isFile()) throw new HttpError(404, 'not found');
    return reply.header('content-type', contentTypeOf(path)).header('content-length', String(st.size)).header('last-modified', st.mtime.toUTCString()).send(createReadStream(path));
  };

  app.get('/repo', async (_req, reply) => serve('', reply));
  app.get('/repo/*', async (req, reply) => serve((req.params as { '*': string })['*'], reply));

  app.get('/api/v1/repo', async () => {
    const dirs = await readdir(root, { withFileTypes: true }).catch(() => []);
    return {
      distributions: dirs.filter((d) => d.isDirectory() && isSafeName(d.name) && repos().exists(d.name)).map((d) => d.name).sort(),
      // Lets the UI tell "publishing is off" from "nothing published yet".
      publishing: services.has(ctx),
    };
  });

  app.get('/api/v1/repo/:dist', async (req) => {
    const { dist } = req.params as { dist: string };
    if (!repos().exists(dist)) throw new HttpError(404, `dist: no repository for distribution '${dist.slice(0, 80)}'`);
    const { suites: names, entries, signing } = await repos().list(dist);
    const suites: Record<string, Array<Omit<RepoEntry, 'suite'>>> = Object.fromEntries(names.map((n) => [n, []]));
    for (const { suite, ...rest } of entries) (suites[suite] ??= []).push(rest);
    const svc = services.get(ctx);
    const failures = svc ? Object.entries(svc.state.failures()).map(([job, f]) => ({ job: Number(job), ...f })) : [];
    return { dist, url: `${ctx.config.baseUrl}/repo/${dist}`, suites, signing, publishFailures: failures };
  });
}
