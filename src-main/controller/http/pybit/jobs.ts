// /job: submission (vcshook, POST /job), queries, the client status protocol, cancel, retry, delete.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tag } from '@shared/jsonpickle';
import { STATUSES, UNFINISHED_STATUSES, isFinished } from '@shared/statuses';
import { HttpError } from '../errors';
import { type AuthDeps, field, has, idParam, optionalField, pageParam, readForm, requireUser, sendEmpty, sendJson, sendText } from './common';
import { processJob, setStatus } from '../../domain/process-job';
import { cancelJob, lockJob, noEffects } from '../../domain/cancel';
import { emitStatusChanges } from '../../domain/job-status';
import { jobModel, jobQuery, loadJob, type JobRowFull } from '../../domain/models';
import type { Principal } from '../../auth/auth';

export const JOB_PAGE = 10;
const VCSHOOK_FIELDS = ['method', 'uri', 'vcs_id', 'distribution', 'architecture_list', 'package_version', 'package', 'suite', 'format'];

type Handler = (req: FastifyRequest, reply: FastifyReply, who: Principal) => Promise<FastifyReply>;

export function registerJobRoutes(app: FastifyInstance, deps: AuthDeps): void {
  const { ctx } = deps;
  const db = ctx.db.kysely;
  /** Users may do everything; worker tokens only report status (the pyBit client protocol). */
  const user = (h: Handler) => async (req: FastifyRequest, reply: FastifyReply) => {
    const who = await requireUser(deps, req, reply);
    if (!who) return reply;
    if (who.kind !== 'user') throw new HttpError(403, 'worker tokens may only report job status');
    return h(req, reply, who);
  };
  const anyone = (h: Handler) => async (req: FastifyRequest, reply: FastifyReply) => {
    const who = await requireUser(deps, req, reply);
    return who ? h(req, reply, who) : reply;
  };
  const jobs = (rows: JobRowFull[], clientAsId = false) => rows.map((r) => jobModel(r as JobRowFull, clientAsId));

  // ---- submission
  const vcshook = user(async (req, reply) => {
    const f = readForm(req);
    if (!VCSHOOK_FIELDS.some((k) => has(f, k))) throw new HttpError(400, '400 - Required fields missing.');
    const method = field(f, 'method', 50);
    // The .changes mail hook sends an empty uri and vcs_id for apt sources.
    const uri = optionalField(f, 'uri') ?? '';
    if (method !== 'apt' && uri === '') throw new HttpError(400, `Required field 'uri' is missing (method '${method}' needs one).`);
    await processJob(ctx, {
      dist: field(f, 'distribution', 200),
      arches: field(f, 'architecture_list', 1000),
      version: field(f, 'package_version', 200),
      name: field(f, 'package', 200),
      suite: field(f, 'suite', 200),
      format: field(f, 'format', 200),
      transport: { method, uri, vcsId: optionalField(f, 'vcs_id', 200) ?? '' },
    });
    return sendEmpty(reply);
  });
  app.post('/job/vcshook', vcshook);
  app.put('/job/vcshook', vcshook);

  const submit = user(async (req, reply) => {
    const f = readForm(req);
    const piId = idParam(field(f, 'packageinstance_id', 20), 'packageinstance_id');
    const method = field(f, 'method', 50);
    const uri = field(f, 'uri');
    const vcsId = optionalField(f, 'vcs_id', 200) ?? '';
    const pi = await db
      .selectFrom('packageinstance as pi')
      .innerJoin('package as p', 'p.id', 'pi.package_id')
      .innerJoin('arch as a', 'a.id', 'pi.arch_id')
      .innerJoin('suite as s', 's.id', 'pi.suite_id')
      .innerJoin('distribution as d', 'd.id', 'pi.dist_id')
      .innerJoin('format as fm', 'fm.id', 'pi.format_id')
      .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
      .select(['p.name', 'p.version', 'a.name as arch', 's.name as suite', 'd.name as dist', 'fm.name as format', 'be.name as env'])
      .where('pi.id', '=', piId)
      .executeTakeFirst();
    if (!pi) throw new HttpError(404, `404 - No packageinstance found with ID ${piId}.`);
    await processJob(ctx, {
      dist: pi.dist,
      arches: pi.arch,
      version: pi.version,
      name: pi.name,
      suite: pi.suite,
      format: pi.format,
      transport: { method, uri, vcsId },
      buildEnv: pi.env ?? null,
      instanceId: piId,
    });
    return sendEmpty(reply);
  });
  app.post('/job', submit);
  app.put('/job', submit);

  // ---- queries
  app.get('/job', async (_req, reply) => sendJson(reply, jobs((await jobQuery(db).orderBy('j.id').execute()) as JobRowFull[])));
  app.get('/job/page/:page', async (req, reply) => {
    const page = pageParam((req.params as { page: string }).page);
    const rows = await jobQuery(db).orderBy('j.id').limit(JOB_PAGE).offset((page - 1) * JOB_PAGE).execute();
    return sendJson(reply, jobs(rows as JobRowFull[]));
  });
  app.get('/job/status', async (_req, reply) => {
    const rows = await jobQuery(db).where('j.status', 'in', [...UNFINISHED_STATUSES]).orderBy('j.id').execute();
    return sendJson(reply, jobs(rows as JobRowFull[]));
  });
  app.get('/job/status/:status', async (req, reply) => {
    const status = (req.params as { status: string }).status;
    const rows = await jobQuery(db).where('j.status', '=', status).orderBy('j.id').execute();
    return sendJson(reply, jobs(rows as JobRowFull[]));
  });
  app.get('/job/:id', async (req, reply) => {
    const row = await loadJob(db, idParam((req.params as { id: string }).id));
    if (!row) throw new HttpError(404, '404 - No job found with this ID.');
    return sendJson(reply, jobModel(row));
  });
  app.get('/job/:id/status', async (req, reply) => {
    const id = idParam((req.params as { id: string }).id);
    const row = await loadJob(db, id);
    if (!row) throw new HttpError(404, '404 - No job found with this ID.');
    const hist = await db
      .selectFrom('jobstatus as js')
      .innerJoin('status as st', 'st.id', 'js.status_id')
      .select(['js.job_id', 'st.name as status', 'js.time'])
      .where('js.job_id', '=', id)
      .orderBy('js.time')
      .orderBy('js.id')
      .execute();
    return sendJson(
      reply,
      hist.map((h) => tag('JobHistory', { job_id: h.job_id, status: h.status, buildclient: row.bc_name, time: h.time })),
    );
  });

  // ---- the client protocol: PUT /job/<id> status=…&client=…
  const report = anyone(async (req, reply) => {
    const id = idParam((req.params as { id: string }).id);
    const f = readForm(req);
    if (!has(f, 'status') || f.status === '') throw new HttpError(400, "400 - Required fields missing: 'status'.");
    const status = field(f, 'status', 50);
    const client = optionalField(f, 'client', 200);
    await setStatus(ctx, id, status, { clientName: client || null });
    return sendEmpty(reply);
  });
  app.put('/job/:id', report);
  app.post('/job/:id', report);

  // ---- cancel
  app.get(
    '/job/:id/cancel',
    user(async (req, reply) => {
      const id = idParam((req.params as { id: string }).id);
      const fx = noEffects();
      await db.transaction().execute(async (tx) => {
        // Concurrent cancels of one job: the second waits here and then sees it finished.
        if (ctx.db.dialect === 'postgres') await lockJob(tx, id);
        const job = await tx.selectFrom('job').select(['id', 'status']).where('id', '=', id).executeTakeFirst();
        if (!job) throw new HttpError(404, '404 - No job found with this ID.');
        if (isFinished(job.status)) throw new HttpError(409, `job ${id} is already ${job.status} and cannot be cancelled`);
        await cancelJob(ctx, tx, id, fx);
      });
      afterCancel(fx);
      return sendText(reply, '202 - CANCEL JOB request received', 202, 'text/html');
    }),
  );
  const cancelAll = user(async (_req, reply) => {
    const fx = noEffects();
    await db.transaction().execute(async (tx) => {
      const ids = await tx.selectFrom('job').select('id').where('status', 'in', [...UNFINISHED_STATUSES]).orderBy('id').execute();
      for (const { id } of ids) await cancelJob(ctx, tx, id, fx);
    });
    afterCancel(fx);
    return sendText(reply, '202 - CANCEL ALL request received', 202, 'text/html');
  });
  app.get('/job/cancelall', cancelAll);
  app.delete('/job', cancelAll);

  // ---- retry: a new job from the transport logged for the old one; the old one is superseded.
  app.get(
    '/job/:id/retry',
    user(async (req, reply) => {
      const id = idParam((req.params as { id: string }).id);
      const row = await loadJob(db, id);
      if (!row) throw new HttpError(404, '404 - No job found with this ID.');
      const br = await db.selectFrom('buildrequest').selectAll().where('job', '=', id).orderBy('id').executeTakeFirst();
      if (!br) throw new HttpError(409, `job ${id} has no recorded transport to retry from`);
      await processJob(ctx, {
        dist: row.d_name,
        arches: row.a_name,
        version: row.p_version,
        name: row.p_name,
        suite: row.s_name,
        format: row.f_name,
        transport: { method: br.method, uri: br.uri, vcsId: br.vcs_id },
        buildEnv: row.be_name ?? null,
        // the same packageinstance, even one the suite's arch map would not pick (§10.39)
        instanceId: row.pi_id,
      });
      return sendEmpty(reply);
    }),
  );

  // ---- delete: the job with its history and transport log, unless it is building.
  const del = user(async (req, reply) => {
    const id = idParam((req.params as { id: string }).id);
    await db.transaction().execute(async (tx) => {
      const job = await tx.selectFrom('job').select(['id', 'status']).where('id', '=', id).executeTakeFirst();
      if (!job || job.status === 'Building') throw new HttpError(404, '404 Cannot DELETE', '404 Cannot DELETE');
      await tx.deleteFrom('jobstatus').where('job_id', '=', id).execute();
      await tx.deleteFrom('buildrequest').where('job', '=', id).execute();
      await tx.deleteFrom('outbox').where('job_id', '=', id).where('sent_at', 'is', null).execute();
      await tx.deleteFrom('job').where('id', '=', id).execute();
    });
    ctx.events.emit({ type: 'job.deleted', jobId: id });
    return sendText(reply, '200 DELETE OK', 200, 'text/html');
  });
  app.get('/job/:id/delete', del);
  app.delete('/job/:id', del);

  function afterCancel(fx: ReturnType<typeof noEffects>) {
    emitStatusChanges(ctx, fx.changes);
    if (fx.cancelRequests > 0) ctx.events.emit({ type: 'outbox.pending' });
  }
  void STATUSES;
}
