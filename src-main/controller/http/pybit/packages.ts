// /package, /packageinstance and /buildd.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tag } from '@shared/jsonpickle';
import { FINISHED_STATUSES, UNFINISHED_STATUSES } from '@shared/statuses';
import { HttpError } from '../errors';
import { type AuthDeps, field, has, idParam, intField, optionalField, pageCount, pageParam, readForm, requireUser, sendEmpty, sendJson, sendText } from './common';
import { deleteRow } from './delete-row';
import { checkPackageName, checkVersion } from '../../domain/process-job';
import { cancelJob, noEffects } from '../../domain/cancel';
import { emitStatusChanges } from '../../domain/job-status';
import { instanceModel, instanceQuery, jobModel, jobQuery, type InstanceRow, type JobRowFull } from '../../domain/models';
import { JOB_PAGE } from './jobs';

type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;
const PAGE = JOB_PAGE;

export function registerPackageRoutes(app: FastifyInstance, deps: AuthDeps): void {
  const { ctx } = deps;
  const db = ctx.db.kysely;
  const guarded = (h: Handler): Handler => async (req, reply) => {
    const who = await requireUser(deps, req, reply);
    if (!who) return reply;
    if (who.kind !== 'user') throw new HttpError(403, 'worker tokens may only report job status');
    return h(req, reply);
  };
  const both = (path: string, h: Handler) => {
    app.post(path, h);
    app.put(path, h);
  };
  const deletes = (prefix: string, table: 'package' | 'packageinstance' | 'buildclients') => {
    const del = guarded(async (req, reply) => {
      await deleteRow(ctx, table, idParam((req.params as { id: string }).id));
      return sendText(reply, '200 DELETE OK', 200, 'text/html');
    });
    app.get(`${prefix}/:id/delete`, del);
    app.delete(`${prefix}/:id`, del);
  };
  const count = async (table: 'package' | 'packageinstance' | 'buildclients') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const pkg = (r: { id: number | null; name: string; version: string | null }) => tag('Package', { id: r.id, version: r.version, name: r.name });

  // ---- /package
  const packages = async (page?: number) => {
    let q = db.selectFrom('package').selectAll().orderBy('name').orderBy('id');
    if (page) q = q.limit(PAGE).offset((page - 1) * PAGE);
    return (await q.execute()).map(pkg);
  };
  app.get('/package', async (_req, reply) => sendJson(reply, await packages()));
  app.get('/package/page/:page', async (req, reply) => sendJson(reply, await packages(pageParam((req.params as { page: string }).page))));
  app.get('/package/count', async (_req, reply) => sendText(reply, pageCount(await count('package'), PAGE), 200, 'application/json'));
  app.get('/package/names', async (_req, reply) => {
    const rows = await db.selectFrom('package').select('name').distinct().orderBy('name').execute();
    return sendJson(reply, rows.map((r) => pkg({ id: null, version: null, name: r.name })));
  });
  // pyBit left these as stubs answering a fixed text; kept for clients that probe them.
  app.get('/package/list', async (_req, reply) => sendText(reply, 'Returning packages by filter', 200, 'application/json'));
  app.get('/package/details/:name', async (req, reply) => {
    const rows = await db.selectFrom('package').selectAll().where('name', '=', (req.params as { name: string }).name).orderBy('id').execute();
    if (rows.length === 0) throw new HttpError(404, '404 No packages found with this name.');
    return sendJson(reply, rows.map(pkg));
  });
  app.get('/package/details/:name/:version', async (req, reply) => {
    const p = req.params as { name: string; version: string };
    const rows = await db.selectFrom('package').selectAll().where('name', '=', p.name).where('version', '=', p.version).execute();
    if (rows.length === 0) throw new HttpError(404, '404 No package found with this name and version.');
    return sendJson(reply, rows.map(pkg));
  });
  app.get('/package/:id', async (req, reply) => {
    const r = await db.selectFrom('package').selectAll().where('id', '=', idParam((req.params as { id: string }).id)).executeTakeFirst();
    if (!r) throw new HttpError(404, '404 - No package found with this ID.');
    return sendJson(reply, pkg(r));
  });
  app.get('/package/:id/active', async (req, reply) => {
    const id = idParam((req.params as { id: string }).id);
    const p = await db.selectFrom('package').select('id').where('id', '=', id).executeTakeFirst();
    if (!p) throw new HttpError(404, '404 - No package found with this ID.');
    const active = await db
      .selectFrom('job as j')
      .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
      .select('j.id')
      .where('pi.package_id', '=', id)
      .where('j.status', 'not in', [...FINISHED_STATUSES])
      .limit(1)
      .executeTakeFirst();
    return sendText(reply, active ? 'True' : 'False');
  });
  both(
    '/package',
    guarded(async (req, reply) => {
      const f = readForm(req);
      const name = field(f, 'name', 200);
      const version = field(f, 'version', 200);
      checkPackageName(name, 'name');
      checkVersion(version, 'version');
      const dup = await db.selectFrom('package').select('id').where('name', '=', name).where('version', '=', version).executeTakeFirst();
      if (dup) throw new HttpError(409, `package ${name} ${version} already exists (id ${dup.id})`);
      await db.insertInto('package').values({ name, version }).execute();
      return sendEmpty(reply);
    }),
  );
  app.get(
    '/package/:id/cancel',
    guarded(async (req, reply) => {
      const id = idParam((req.params as { id: string }).id);
      const fx = noEffects();
      await db.transaction().execute(async (tx) => {
        const p = await tx.selectFrom('package').selectAll().where('id', '=', id).executeTakeFirst();
        if (!p) throw new HttpError(404, '404 - No package found with this ID.');
        const ids = await tx
          .selectFrom('job as j')
          .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
          .innerJoin('package as pk', 'pk.id', 'pi.package_id')
          .select('j.id')
          .where('pk.name', '=', p.name)
          .where('pk.version', '=', p.version)
          .where('j.status', 'in', [...UNFINISHED_STATUSES])
          .orderBy('j.id')
          .execute();
        for (const j of ids) await cancelJob(ctx, tx, j.id, fx);
      });
      emitStatusChanges(ctx, fx.changes);
      if (fx.cancelRequests) ctx.events.emit({ type: 'outbox.pending' });
      return sendText(reply, '202 - CANCEL PACKAGE request received', 202, 'text/html');
    }),
  );
  deletes('/package', 'package');

  // ---- /packageinstance
  const instances = async (page?: number) => {
    let q = instanceQuery(db).orderBy('pi.id');
    if (page) q = q.limit(PAGE).offset((page - 1) * PAGE);
    return (await q.execute()).map((r) => instanceModel(r as InstanceRow));
  };
  app.get('/packageinstance', async (_req, reply) => sendJson(reply, await instances()));
  app.get('/packageinstance/page/:page', async (req, reply) => sendJson(reply, await instances(pageParam((req.params as { page: string }).page))));
  app.get('/packageinstance/count', async (_req, reply) => sendText(reply, pageCount(await count('packageinstance'), PAGE), 200, 'application/json'));
  app.get('/packageinstance/list', async (_req, reply) => sendText(reply, 'Returning packageinstances by filter', 200, 'application/json'));
  app.get('/packageinstance/details/:name', async (req, reply) => {
    const rows = await instanceQuery(db).where('p.name', '=', (req.params as { name: string }).name).orderBy('pi.package_id').orderBy('pi.id').execute();
    if (rows.length === 0) throw new HttpError(404, '404 - No packageinstances found with this name.');
    return sendJson(reply, rows.map((r) => instanceModel(r as InstanceRow)));
  });
  app.get('/packageinstance/:id', async (req, reply) => {
    const r = await instanceQuery(db).where('pi.id', '=', idParam((req.params as { id: string }).id)).executeTakeFirst();
    if (!r) throw new HttpError(404, '404 - No packageinstance found with this ID.');
    return sendJson(reply, instanceModel(r as InstanceRow));
  });
  // pyBit left togglemaster public; every write needs auth here.
  app.get(
    '/packageinstance/:id/togglemaster/:value',
    guarded(async (req, reply) => {
      const p = req.params as { id: string; value: string };
      const id = idParam(p.id);
      if (p.value !== '0' && p.value !== '1') throw new HttpError(400, `togglemaster takes 0 or 1, got '${p.value.slice(0, 20)}'`);
      const res = await db.updateTable('packageinstance').set({ master: Number(p.value) }).where('id', '=', id).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new HttpError(404, '404 - No packageinstance found with this ID.');
      return sendText(reply, '202 - Master flag changed.', 202, 'text/html');
    }),
  );
  both(
    '/packageinstance',
    guarded(async (req, reply) => {
      const f = readForm(req);
      const name = field(f, 'package', 200);
      const version = field(f, 'version', 200);
      const archId = intField(f, 'arch_id');
      const suiteId = intField(f, 'suite_id');
      const distId = intField(f, 'dist_id');
      const formatId = intField(f, 'format_id');
      const envRaw = optionalField(f, 'build_env_id', 20) ?? '';
      const envId = envRaw === '' ? null : idParam(envRaw, 'build_env_id');
      const p = await db.selectFrom('package').select('id').where('name', '=', name).where('version', '=', version).executeTakeFirst();
      if (!p) throw new HttpError(400, `package ${name} ${version} does not exist (create it with PUT /package first)`);
      for (const [table, id, what] of [
        ['arch', archId, 'arch_id'],
        ['suite', suiteId, 'suite_id'],
        ['distribution', distId, 'dist_id'],
        ['format', formatId, 'format_id'],
        ...(envId == null ? [] : [['buildenv', envId, 'build_env_id']]),
      ] as Array<['arch' | 'suite' | 'distribution' | 'format' | 'buildenv', number, string]>) {
        const r = await db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst();
        if (!r) throw new HttpError(400, `'${what}' ${id} does not exist`);
      }
      await db
        .insertInto('packageinstance')
        .values({ package_id: p.id, buildenv_id: envId, arch_id: archId, suite_id: suiteId, dist_id: distId, format_id: formatId, master: has(f, 'slave') ? 0 : 1 })
        .execute();
      return sendEmpty(reply);
    }),
  );
  deletes('/packageinstance', 'packageinstance');

  // ---- /buildd
  const clients = async (page?: number) => {
    let q = db.selectFrom('buildclients').select(['id', 'name']).orderBy('name').orderBy('id');
    if (page) q = q.limit(PAGE).offset((page - 1) * PAGE);
    return (await q.execute()).map((r) => tag('BuildD', { id: r.id, name: r.name }));
  };
  app.get('/buildd', async (_req, reply) => sendJson(reply, await clients()));
  app.get('/buildd/page/:page', async (req, reply) => sendJson(reply, await clients(pageParam((req.params as { page: string }).page))));
  app.get('/buildd/count', async (_req, reply) => sendText(reply, pageCount(await count('buildclients'), PAGE), 200, 'application/json'));
  app.get('/buildd/:key', async (req, reply) => {
    const r = await db.selectFrom('buildclients').select(['id', 'name']).where('id', '=', idParam((req.params as { key: string }).key)).executeTakeFirst();
    if (!r) throw new HttpError(404, '404 - No buildd found with this ID.');
    return sendJson(reply, tag('BuildD', { id: r.id, name: r.name }));
  });
  // Liveness: a live client holds its exclusive command queue.
  app.get('/buildd/:key/status', async (req, reply) => {
    const name = (req.params as { key: string }).key;
    return sendText(reply, (await ctx.isQueueHeld(name)) ? 'Active' : 'Not Active');
  });
  app.get('/buildd/:key/jobs', async (req, reply) => {
    const id = idParam((req.params as { key: string }).key);
    const rows = await jobQuery(db).where('j.buildclient_id', '=', id).orderBy('j.id').execute();
    if (rows.length === 0) throw new HttpError(404, '404 - No buildd found with this ID.');
    return sendJson(reply, rows.map((r) => jobModel(r as JobRowFull, true)));
  });
  both(
    '/buildd',
    guarded(async (req, reply) => {
      const name = field(readForm(req), 'name', 200);
      const dup = await db.selectFrom('buildclients').select('id').where('name', '=', name).executeTakeFirst();
      if (dup) throw new HttpError(409, `build client '${name}' already exists (id ${dup.id})`);
      await db.insertInto('buildclients').values({ name, last_seen: null }).execute();
      return sendEmpty(reply);
    }),
  );
  app.post(
    '/buildd/:key/:command',
    guarded(async (req, reply) => {
      const p = req.params as { key: string; command: string };
      return sendText(reply, `POSTed command '${p.command}' to buildd: ${p.key}`, 202, 'text/html');
    }),
  );
  deletes('/buildd', 'buildclients');
}
