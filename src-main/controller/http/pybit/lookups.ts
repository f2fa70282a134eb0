// The lookup tables (/arch, /dist, /format, /status, /suite, /env): one list/page/count/get/
// create/delete contract, as pyBit's sub-apps share it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LookupTable } from '../../db/schema';
import { named } from '@shared/pybit-models';
import { HttpError } from '../errors';
import { type AuthDeps, field, idParam, pageCount, pageParam, readForm, requireUser, sendEmpty, sendJson, sendText } from './common';
import { deleteRow } from './delete-row';

export const LOOKUP_ROUTES: Array<{ prefix: string; table: Exclude<LookupTable, 'buildclients'>; cls: string; what: string }> = [
  { prefix: '/arch', table: 'arch', cls: 'Arch', what: 'arch' },
  { prefix: '/dist', table: 'distribution', cls: 'Dist', what: 'dist' },
  { prefix: '/format', table: 'format', cls: 'Format', what: 'format' },
  { prefix: '/status', table: 'status', cls: 'Status', what: 'status' },
  { prefix: '/suite', table: 'suite', cls: 'Suite', what: 'suite' },
  { prefix: '/env', table: 'buildenv', cls: 'BuildEnv', what: 'build environment' },
];

export const LOOKUP_PAGE = 5;

export function registerLookupRoutes(app: FastifyInstance, deps: AuthDeps): void {
  const db = deps.ctx.db.kysely;
  for (const { prefix, table, cls, what } of LOOKUP_ROUTES) {
    const list = async (page?: number) => {
      let q = db.selectFrom(table).select(['id', 'name']).orderBy('name').orderBy('id');
      if (page) q = q.limit(LOOKUP_PAGE).offset((page - 1) * LOOKUP_PAGE);
      return (await q.execute()).map((r) => named(cls, r));
    };
    app.get(prefix, async (_req, reply) => sendJson(reply, await list()));
    app.get(`${prefix}/page/:page`, async (req, reply) => sendJson(reply, await list(pageParam((req.params as { page: string }).page))));
    app.get(`${prefix}/count`, async (_req, reply) => {
      const { n } = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return sendText(reply, pageCount(Number(n), LOOKUP_PAGE), 200, 'application/json');
    });
    app.get(`${prefix}/:id`, async (req, reply) => {
      const id = idParam((req.params as { id: string }).id);
      const row = await db.selectFrom(table).select(['id', 'name']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new HttpError(404, `404 - No ${what} found with this ID.`);
      return sendJson(reply, named(cls, row));
    });
    const create = async (req: FastifyRequest, reply: FastifyReply) => {
      if (!(await requireUser(deps, req, reply))) return reply;
      const name = field(readForm(req), 'name', 200);
      if (table !== 'buildenv') {
        const exists = await db.selectFrom(table).select('id').where('name', '=', name).executeTakeFirst();
        if (exists) throw new HttpError(409, `${what} '${name}' already exists (id ${exists.id})`);
      }
      await db.insertInto(table).values({ name } as never).execute();
      if (table === 'status') deps.ctx.statuses.invalidate();
      return sendEmpty(reply);
    };
    app.post(prefix, create);
    app.put(prefix, create);
    const del = async (req: FastifyRequest, reply: FastifyReply) => {
      if (!(await requireUser(deps, req, reply))) return reply;
      const id = idParam((req.params as { id: string }).id);
      await deleteRow(deps.ctx, table, id);
      if (table === 'status') deps.ctx.statuses.invalidate();
      return sendText(reply, '200 DELETE OK', 200, 'text/html');
    };
    app.get(`${prefix}/:id/delete`, del);
    app.delete(`${prefix}/:id`, del);
  }
}
