// /api/v1/builders: launchpad-buildd style builders the controller's buildd-manager drives.
// Reads are open like the rest of the read API; writes need a user credential.
import type { FastifyInstance } from 'fastify';
import { BuilderCreate, BuilderPatch, builderName, builderRoutes } from '@shared/builders-api';
import type { AuthDeps } from '../pybit/common';
import { HttpError } from '../errors';
import { builderInfo, createBuilder, deleteBuilder, getBuilder, listBuilders, updateBuilder } from '../../lp/registry';
import { parseBody, requireApiUser } from './read-common';

function nameParam(params: unknown): string {
  const raw = (params as { name?: string }).name ?? '';
  const r = builderName.safeParse(raw);
  if (!r.success) throw new HttpError(400, `name: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export function registerBuildersApi(app: FastifyInstance, deps: AuthDeps): void {
  const { ctx } = deps;

  app.get(builderRoutes.list, async () => builderInfo(ctx, await listBuilders(ctx)));

  app.get(builderRoutes.one, async (req) => {
    const name = nameParam(req.params);
    const row = await getBuilder(ctx, name);
    if (!row) throw new HttpError(404, `no builder named '${name}'`);
    return (await builderInfo(ctx, [row]))[0];
  });

  app.post(builderRoutes.list, async (req, reply) => {
    await requireApiUser(deps, req, reply);
    const body = parseBody(BuilderCreate, req.body ?? {});
    const row = await createBuilder(ctx, body);
    return reply.code(201).send((await builderInfo(ctx, [row]))[0]);
  });

  app.patch(builderRoutes.one, async (req, reply) => {
    await requireApiUser(deps, req, reply);
    const name = nameParam(req.params);
    const body = parseBody(BuilderPatch, req.body ?? {});
    const row = await updateBuilder(ctx, name, body);
    return (await builderInfo(ctx, [row]))[0];
  });

  app.delete(builderRoutes.one, async (req, reply) => {
    await requireApiUser(deps, req, reply);
    await deleteBuilder(ctx, nameParam(req.params));
    return reply.code(204).send();
  });
}
