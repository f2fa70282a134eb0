// Push webhooks: POST /api/v1/hooks/github and /api/v1/hooks/gitlab. A delivery is checked
// against its repository's secret (GitHub: HMAC-SHA256 of the raw body in X-Hub-Signature-256;
// GitLab: the X-Gitlab-Token header) before anything else happens; then the packages the push
// touched (the root's, and those in subdirectories, `<dir>/debian/changelog`) are read at the
// pushed commit from the repository's clone URL and queued like vcshook submissions (a package
// in a subdirectory with `#subdir=<dir>` on its URI), all in one transaction: a push queues all
// of its packages or none. Each delivery id is remembered, so a redelivered or replayed push
// queues nothing twice.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import { hooksRoutes, type WebhookProvider, type WebhookResponse } from '@shared/hooks-api';
import { DebianSourceError } from '@shared/debian-source';
import type { AuthDeps } from '../pybit/common';
import type { RepositoryTable } from '../../db/schema';
import { nowText } from '../../db/time';
import { isUniqueViolation } from '../../db/errors';
import { processJobs, type SubmissionResult } from '../../domain/process-job';
import { HttpError } from '../errors';
import { GitReadError, readPushedPackages, type PushedPackage } from '../../vcs/git-read';
import { splitSourceUri, withSubdir } from '@shared/source-subdir';
import { parseBody } from './read-common';

const MAX_PAYLOAD = 25 * 1024 * 1024; // GitHub caps payloads at 25 MB
const ZERO_SHA = /^0+$/;

type Repo = Selectable<RepositoryTable>;

interface Provider {
  name: WebhookProvider;
  eventHeader: string;
  deliveryHeader: string;
  isPush(event: string): boolean;
  isPing(event: string): boolean;
  /** Throws 401 unless the request carries this repository's secret. */
  verify(req: FastifyRequest, raw: Buffer, secret: string): void;
  /** URLs in the payload that may name the repository. */
  urls(payload: Record<string, unknown>): string[];
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const str = (v: unknown): string[] => (typeof v === 'string' && v ? [v] : []);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

const PROVIDERS: Record<WebhookProvider, Provider> = {
  github: {
    name: 'github',
    eventHeader: 'x-github-event',
    deliveryHeader: 'x-github-delivery',
    isPush: (e) => e === 'push',
    isPing: (e) => e === 'ping',
    verify(req, raw, secret) {
      const sig = header(req, 'x-hub-signature-256');
      if (!sig) throw new HttpError(401, 'X-Hub-Signature-256: missing (set the webhook secret on GitHub)');
      const want = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
      if (!sameSecret(sig.trim().toLowerCase(), want)) throw new HttpError(401, 'X-Hub-Signature-256: does not match the repository secret');
    },
    urls(p) {
      const r = obj(p.repository);
      return [...str(r.clone_url), ...str(r.html_url), ...str(r.ssh_url), ...str(r.git_url), ...str(r.url)];
    },
  },
  gitlab: {
    name: 'gitlab',
    eventHeader: 'x-gitlab-event',
    deliveryHeader: 'x-gitlab-event-uuid',
    isPush: (e) => e === 'Push Hook',
    isPing: () => false,
    verify(req, _raw, secret) {
      const token = header(req, 'x-gitlab-token');
      if (!token) throw new HttpError(401, 'X-Gitlab-Token: missing (set the secret token on GitLab)');
      if (!sameSecret(token, secret)) throw new HttpError(401, 'X-Gitlab-Token: does not match the repository secret');
    },
    urls(p) {
      const pr = obj(p.project);
      const r = obj(p.repository);
      return [...str(pr.git_http_url), ...str(pr.git_ssh_url), ...str(pr.web_url), ...str(r.git_http_url), ...str(r.git_ssh_url), ...str(r.homepage), ...str(r.url)];
    },
  },
};

/** The fields of a push both providers send alike. */
const COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const PushPayload = z.object({
  ref: z.string({ error: (i) => (i.input === undefined ? 'required' : 'must be a string') }).min(1).max(1000),
  after: z.string({ error: (i) => (i.input === undefined ? 'required' : 'must be a string') }).regex(COMMIT_ID, { error: 'must be a full commit id' }),
  /** The branch's previous commit: what the push changed is read from the two trees. */
  before: z.string({ error: 'must be a string' }).regex(COMMIT_ID, { error: 'must be a full commit id' }).optional(),
});

const normalizeUrl = (u: string) => u.trim().replace(/\/+$/, '').replace(/\.git$/, '').toLowerCase();

function parsePayload(req: FastifyRequest, raw: Buffer): Record<string, unknown> {
  const type = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  let text = raw.toString('utf8');
  // GitHub can also post the JSON as the `payload` field of a form.
  if (type === 'application/x-www-form-urlencoded') {
    const p = new URLSearchParams(text).get('payload');
    if (p === null) throw new HttpError(400, "payload: the form has no 'payload' field");
    text = p;
  } else if (type !== 'application/json') {
    throw new HttpError(415, `content-type: expected application/json, got '${type || 'none'}'`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'payload: not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'payload: must be a JSON object');
  return v as Record<string, unknown>;
}

export function registerHooksApi(app: FastifyInstance, deps: AuthDeps): void {
  const { ctx } = deps;
  const db = ctx.db.kysely;

  async function findRepository(p: Provider, req: FastifyRequest, payload: Record<string, unknown>): Promise<Repo> {
    const named = (req.query as Record<string, unknown> | undefined)?.repository;
    let repo: Repo | undefined;
    if (named !== undefined) {
      if (typeof named !== 'string' || !named) throw new HttpError(400, "query parameter 'repository': must be a repository name");
      repo = await db.selectFrom('repositories').selectAll().where('name', '=', named).executeTakeFirst();
      if (!repo) throw new HttpError(404, `repository: no repository named '${named.slice(0, 100)}'`);
    } else {
      const urls = new Set(p.urls(payload).map(normalizeUrl));
      if (!urls.size) throw new HttpError(400, "repository: add '?repository=<name>' to the webhook URL (the payload names no repository URL)");
      const rows = await db.selectFrom('repositories').selectAll().where('provider', '=', p.name).execute();
      repo = rows.find((r) => urls.has(normalizeUrl(r.clone_url)));
      if (!repo) throw new HttpError(404, "repository: no repository registered for this payload's URLs (add '?repository=<name>' to the webhook URL)");
    }
    if (repo.provider !== p.name) throw new HttpError(400, `repository: '${repo.name}' is set up for ${repo.provider} webhooks, not ${p.name}`);
    return repo;
  }

  async function defaultDist(): Promise<string> {
    const dists = await db.selectFrom('distribution').select('name').execute();
    if (dists.length !== 1) throw new HttpError(422, 'dist: the repository names no distribution and the controller knows more than one');
    return dists[0]!.name;
  }

  async function handle(p: Provider, req: FastifyRequest, reply: FastifyReply): Promise<WebhookResponse> {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!raw.length) throw new HttpError(400, 'payload: empty body');
    const payload = parsePayload(req, raw);
    const repo = await findRepository(p, req, payload);
    p.verify(req, raw, repo.secret);

    const event = header(req, p.eventHeader);
    if (!event) throw new HttpError(400, `${p.eventHeader}: missing`);
    const delivery = header(req, p.deliveryHeader);
    if (!delivery) throw new HttpError(400, `${p.deliveryHeader}: missing (it identifies the delivery so that replays are recognised)`);
    if (delivery.length > 200 || /[\u0000-\u001f\u007f]/.test(delivery)) throw new HttpError(400, `${p.deliveryHeader}: not a delivery id`);
    const res: WebhookResponse = { repository: repo.name, delivery, duplicate: false, skipped: null, queued: [] };
    if (p.isPing(event)) return { ...res, skipped: 'ping' };
    if (!p.isPush(event)) return { ...res, skipped: `event '${event.slice(0, 60)}' is not a push` };

    const push = parseBody(PushPayload, payload);
    const seen = async () =>
      Boolean(await db.selectFrom('webhook_deliveries').select('delivery_id').where('provider', '=', p.name).where('delivery_id', '=', delivery).executeTakeFirst());
    if (await seen()) {
      reply.code(200);
      return { ...res, duplicate: true };
    }
    if (ZERO_SHA.test(push.after)) return { ...res, skipped: 'branch deleted' };
    if (!push.ref.startsWith('refs/heads/')) return { ...res, skipped: `'${push.ref.slice(0, 100)}' is not a branch` };
    const branch = push.ref.slice('refs/heads/'.length);
    if (repo.branch && repo.branch !== branch) return { ...res, skipped: `branch '${branch.slice(0, 100)}' is not followed (only '${repo.branch}')` };

    let pkgs: PushedPackage[];
    try {
      pkgs = await readPushedPackages(repo.clone_url, push.before && !ZERO_SHA.test(push.before) ? push.before : null, push.after);
    } catch (e) {
      if (e instanceof DebianSourceError || e instanceof GitReadError) throw new HttpError(422, `after: ${e.message}`);
      throw e;
    }
    if (!pkgs.length) return { ...res, skipped: 'the push changed no package' };
    const dist = repo.dist ?? (await defaultDist());
    const format = repo.format ?? 'deb';
    // Valid: readPushedPackages has split it already.
    const { repository } = splitSourceUri(repo.clone_url);
    const subs = pkgs.map((src) => ({
      src,
      sub: {
        dist,
        arches: src.archList || 'any',
        version: src.version,
        name: src.source,
        suite: repo.suite ?? src.distribution,
        format,
        transport: { method: 'git', uri: withSubdir(repository, src.subdir), vcsId: src.commit },
      },
    }));

    // Claim the delivery first: of two concurrent copies, only one gets past this insert.
    try {
      await db.insertInto('webhook_deliveries').values({ provider: p.name, delivery_id: delivery, repository_id: repo.id, received_at: nowText(), job_ids: '' }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) return { ...res, duplicate: true };
      throw e;
    }
    // Every package in one transaction: a push queues all of them or none.
    let results: SubmissionResult[];
    try {
      results = await processJobs(ctx, subs.map((s) => s.sub));
    } catch (e) {
      // Nothing was queued: let a redelivery (of a fixed push, or once the suite exists) try again.
      await db.deleteFrom('webhook_deliveries').where('provider', '=', p.name).where('delivery_id', '=', delivery).execute();
      throw e;
    }
    const queued: WebhookResponse['queued'] = subs.map(({ src, sub }, i) => ({
      package: src.source,
      version: src.version,
      suite: sub.suite,
      commit: src.commit,
      subdir: src.subdir,
      jobIds: results[i]!.jobIds,
    }));
    const now = nowText();
    await db
      .updateTable('webhook_deliveries')
      .set({ job_ids: queued.flatMap((q) => q.jobIds).join(',') })
      .where('provider', '=', p.name)
      .where('delivery_id', '=', delivery)
      .execute();
    await db.updateTable('repositories').set({ last_delivery_at: now }).where('id', '=', repo.id).execute();
    reply.code(201);
    return { ...res, queued };
  }

  // Signatures cover the exact bytes sent, so these routes read the body raw, in their own scope.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_PAYLOAD }, (_req, body, done) => done(null, body));
    for (const p of Object.values(PROVIDERS)) {
      scope.post(hooksRoutes[p.name], async (req, reply) => reply.send(await handle(p, req, reply)));
    }
  });
}
