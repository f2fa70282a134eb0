// /api/v1/repositories: git repositories whose pushes queue builds. Creating one answers with
// its webhook URL and a generated secret, shown only then (the UI offers both for copy-paste).
// Administrators only: a secret lets anyone holding it queue builds.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { RepositoryCreate, hooksRoutes, repositoryName, webhookUrl, type RepositoryCreated, type RepositoryInfo, type RepositorySecret, type WebhookProvider } from '@shared/hooks-api';
import type { Selectable } from 'kysely';
import type { AuthDeps } from '../pybit/common';
import type { RepositoryTable } from '../../db/schema';
import { fromDbTime, nowText } from '../../db/time';
import { HttpError } from '../errors';
import { parseBody, requireAdmin } from './read-common';

/** The base URL callers reached this controller at (what a provider must call back). */
export function requestBaseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? req.hostname}`;
}

export function repositoryInfo(row: Selectable<RepositoryTable>, baseUrl: string): RepositoryInfo {
  return {
    id: row.id,
    name: row.name,
    provider: row.provider as WebhookProvider,
    cloneUrl: row.clone_url,
    suite: row.suite,
    dist: row.dist,
    format: row.format,
    branch: row.branch,
    webhookUrl: webhookUrl(baseUrl, row.provider as WebhookProvider, row.name),
    createdAt: fromDbTime(row.created_at).toISOString(),
    lastDeliveryAt: row.last_delivery_at ? fromDbTime(row.last_delivery_at).toISOString() : null,
  };
}

function nameParam(params: unknown): string {
  const r = repositoryName.safeParse((params as { name?: string }).name ?? '');
  if (!r.success) throw new HttpError(400, `name: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export function registerRepositoriesApi(app: FastifyInstance, deps: AuthDeps): void {
  const db = deps.ctx.db.kysely;

  app.get(hooksRoutes.repositories, async (req, reply) => {
    await requireAdmin(deps, req, reply, 'manage repositories');
    const rows = await db.selectFrom('repositories').selectAll().orderBy('name').execute();
    return { items: rows.map((r) => repositoryInfo(r, requestBaseUrl(req))) };
  });

  app.get(hooksRoutes.repository, async (req, reply) => {
    await requireAdmin(deps, req, reply, 'manage repositories');
    const name = nameParam(req.params);
    const row = await db.selectFrom('repositories').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new HttpError(404, `no repository named '${name}'`);
    return repositoryInfo(row, requestBaseUrl(req));
  });

  app.post(hooksRoutes.repositories, async (req, reply) => {
    await requireAdmin(deps, req, reply, 'manage repositories');
    const body = parseBody(RepositoryCreate, req.body ?? {});
    if (await db.selectFrom('repositories').select('id').where('name', '=', body.name).executeTakeFirst()) {
      throw new HttpError(409, `name: a repository named '${body.name}' already exists`);
    }
    const secret = randomBytes(24).toString('hex');
    const row = await db
      .insertInto('repositories')
      .values({
        name: body.name,
        provider: body.provider,
        clone_url: body.cloneUrl,
        secret,
        suite: body.suite ?? null,
        dist: body.dist ?? null,
        format: body.format ?? null,
        branch: body.branch ?? null,
        created_at: nowText(),
        last_delivery_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const res: RepositoryCreated = { ...repositoryInfo(row, requestBaseUrl(req)), secret };
    return reply.code(201).send(res);
  });

  // The secret is never shown again after a create; an administrator who lost it gets a new one.
  app.post(hooksRoutes.repositorySecret, async (req, reply) => {
    await requireAdmin(deps, req, reply, 'manage repositories');
    const name = nameParam(req.params);
    const secret = randomBytes(24).toString('hex');
    const row = await db.updateTable('repositories').set({ secret }).where('name', '=', name).returningAll().executeTakeFirst();
    if (!row) throw new HttpError(404, `no repository named '${name}'`);
    const res: RepositorySecret = { name: row.name, webhookUrl: repositoryInfo(row, requestBaseUrl(req)).webhookUrl, secret };
    return res;
  });

  app.delete(hooksRoutes.repository, async (req, reply) => {
    await requireAdmin(deps, req, reply, 'manage repositories');
    const name = nameParam(req.params);
    const gone = await db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('repositories').select('id').where('name', '=', name).executeTakeFirst();
      if (!row) return false;
      await tx.deleteFrom('webhook_deliveries').where('repository_id', '=', row.id).execute();
      await tx.deleteFrom('repositories').where('id', '=', row.id).execute();
      return true;
    });
    if (!gone) throw new HttpError(404, `no repository named '${name}'`);
    return reply.code(204).send();
  });
}
