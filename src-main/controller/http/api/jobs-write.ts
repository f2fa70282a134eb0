// Writes under /api/v1/jobs: submit, cancel one, cancel many (or all), retry. Authentication is
// the pyBit routes' (a user credential; worker tokens are refused); the job logic is the same
// domain code the pyBit routes use.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  apiRoutes,
  BulkCancelRequest,
  JobIdParams,
  parseSubmitJob,
  routerPath,
  type BulkCancelResponse,
  type CancelJobResponse,
  type RetryJobResponse,
  type SubmitJobResponse,
} from '@shared/api';
import { isFinished, UNFINISHED_STATUSES } from '@shared/statuses';
import type { Ctx } from '../../context';
import { cancelJob, noEffects, type CancelEffects } from '../../domain/cancel';
import { appendStatus, emitStatusChanges } from '../../domain/job-status';
import { buildRequestForJob } from '../../domain/models';
import { enqueueBuildRequest } from '../../domain/outbox';
import { processJob, type JobSubmission } from '../../domain/process-job';
import { HttpError } from '../errors';
import type { AuthDeps } from '../pybit/common';
import { parseBody, parseParams, requireApiUser, withBodyErrors } from './read-common';

/** Statuses a job can be retried from. */
export const RETRYABLE_STATUSES = ['Failed', 'Cancelled', 'Blocked'] as const;

/** Ids per statement when reading many jobs (well under both databases' parameter limits). */
const CHUNK = 500;

function afterCancel(ctx: Ctx, fx: CancelEffects): void {
  emitStatusChanges(ctx, fx.changes);
  if (fx.cancelRequests > 0) ctx.events.emit({ type: 'outbox.pending' });
}

async function submission(ctx: Ctx, body: unknown): Promise<JobSubmission> {
  const parsed = withBodyErrors(() => parseSubmitJob(body));
  if (parsed.kind === 'hook') {
    const b = parsed.value;
    if (b.method_type !== 'apt' && b.uri === '') throw new HttpError(400, `field 'uri': required for method_type '${b.method_type}'`);
    return {
      dist: b.dist,
      arches: Array.isArray(b.arch_list) ? b.arch_list.join(',') : b.arch_list,
      version: b.version,
      name: b.package,
      suite: b.suite,
      format: b.format,
      transport: { method: b.method_type, uri: b.uri, vcsId: b.vcs_id },
      buildEnv: b.environment,
    };
  }
  // For an existing instance: the given transport, or the one its latest job was built from.
  const b = parsed.value;
  const db = ctx.db.kysely;
  const pi = await db
    .selectFrom('packageinstance as pi')
    .innerJoin('package as p', 'p.id', 'pi.package_id')
    .innerJoin('arch as a', 'a.id', 'pi.arch_id')
    .innerJoin('suite as s', 's.id', 'pi.suite_id')
    .innerJoin('distribution as d', 'd.id', 'pi.dist_id')
    .innerJoin('format as f', 'f.id', 'pi.format_id')
    .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
    .select(['p.name', 'p.version', 'a.name as arch', 's.name as suite', 'd.name as dist', 'f.name as format', 'be.name as env'])
    .where('pi.id', '=', b.packageinstanceId)
    .executeTakeFirst();
  if (!pi) throw new HttpError(404, `field 'packageinstanceId': no package instance with id ${b.packageinstanceId}`);
  let transport: JobSubmission['transport'];
  if (b.method_type !== undefined) {
    const uri = b.uri ?? '';
    if (b.method_type !== 'apt' && uri === '') throw new HttpError(400, `field 'uri': required for method_type '${b.method_type}'`);
    transport = { method: b.method_type, uri, vcsId: b.vcs_id ?? '' };
  } else {
    if (b.uri !== undefined || b.vcs_id !== undefined) throw new HttpError(400, "field 'method_type': required when 'uri' or 'vcs_id' is given");
    const last = await db
      .selectFrom('buildrequest as br')
      .innerJoin('job as j', 'j.id', 'br.job')
      .select(['br.method', 'br.uri', 'br.vcs_id'])
      .where('j.packageinstance_id', '=', b.packageinstanceId)
      .orderBy('br.id', 'desc')
      .executeTakeFirst();
    if (!last) {
      throw new HttpError(400, `field 'method_type': package instance ${b.packageinstanceId} has never been built, so give method_type, uri and vcs_id`);
    }
    transport = { method: last.method, uri: last.uri, vcsId: last.vcs_id };
  }
  return {
    dist: pi.dist,
    arches: pi.arch,
    version: pi.version,
    name: pi.name,
    suite: pi.suite,
    format: pi.format,
    transport,
    buildEnv: pi.env ?? null,
  };
}

export function registerJobWrites(app: FastifyInstance, deps: AuthDeps): void {
  const { ctx } = deps;
  const db = ctx.db.kysely;
  const authed =
    <T>(h: (req: FastifyRequest, reply: FastifyReply) => Promise<T>) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<T> => {
      await requireApiUser(deps, req, reply);
      return h(req, reply);
    };

  app.post(
    routerPath(apiRoutes.submitJob.path),
    authed(async (req, reply): Promise<SubmitJobResponse> => {
      const sub = await submission(ctx, req.body);
      const r = await processJob(ctx, sub);
      reply.code(201);
      return { jobIds: r.jobIds, superseded: r.cancelled };
    }),
  );

  app.post(
    routerPath(apiRoutes.cancelJob.path),
    authed(async (req): Promise<CancelJobResponse> => {
      const { id } = parseParams(JobIdParams, req);
      const fx = noEffects();
      await db.transaction().execute(async (tx) => {
        const job = await tx.selectFrom('job').select(['id', 'status']).where('id', '=', id).executeTakeFirst();
        if (!job) throw new HttpError(404, `no job with id ${id}`);
        if (isFinished(job.status)) throw new HttpError(409, `job ${id} is already ${job.status} and cannot be cancelled`);
        await cancelJob(ctx, tx, id, fx);
      });
      afterCancel(ctx, fx);
      const requested = fx.cancelRequests > 0;
      return { id, status: requested ? 'Building' : 'Cancelled', cancelRequested: requested };
    }),
  );

  app.post(
    routerPath(apiRoutes.cancelJobs.path),
    authed(async (req): Promise<BulkCancelResponse> => {
      const body = parseBody(BulkCancelRequest, req.body);
      const out: BulkCancelResponse = { cancelled: [], cancelRequested: [], skipped: [] };
      const fx = noEffects();
      await db.transaction().execute(async (tx) => {
        let targets: number[];
        if (body.all) {
          targets = (await tx.selectFrom('job').select('id').where('status', 'in', [...UNFINISHED_STATUSES]).orderBy('id').execute()).map((r) => r.id);
        } else {
          const wanted = [...new Set(body.ids!)];
          const found = new Map<number, string>();
          for (let i = 0; i < wanted.length; i += CHUNK) {
            const rows = await tx.selectFrom('job').select(['id', 'status']).where('id', 'in', wanted.slice(i, i + CHUNK)).execute();
            for (const r of rows) found.set(r.id, r.status);
          }
          targets = [];
          for (const id of wanted) {
            const status = found.get(id);
            if (status === undefined) out.skipped.push({ id, reason: 'no such job' });
            else if (isFinished(status)) out.skipped.push({ id, reason: `already ${status}` });
            else targets.push(id);
          }
        }
        for (const id of targets) {
          const before = fx.cancelRequests;
          await cancelJob(ctx, tx, id, fx);
          if (fx.cancelRequests > before) out.cancelRequested.push(id);
          else out.cancelled.push(id);
        }
      });
      afterCancel(ctx, fx);
      return out;
    }),
  );

  app.post(
    routerPath(apiRoutes.retryJob.path),
    authed(async (req): Promise<RetryJobResponse> => {
      const { id } = parseParams(JobIdParams, req);
      const change = await db.transaction().execute(async (tx) => {
        const job = await tx.selectFrom('job').select(['id', 'status']).where('id', '=', id).executeTakeFirst();
        if (!job) throw new HttpError(404, `no job with id ${id}`);
        const retryable = (RETRYABLE_STATUSES as readonly string[]).includes(job.status);
        // The conditional update also serialises concurrent retries of the same job: the
        // loser finds the status already changed and matches no row.
        const claimed =
          retryable &&
          Number(
            (
              await tx
                .updateTable('job')
                .set({ result: null, result_details: null, retry_at: null })
                .where('id', '=', id)
                .where('status', 'in', [...RETRYABLE_STATUSES])
                .executeTakeFirst()
            ).numUpdatedRows,
          ) > 0;
        if (!claimed) {
          throw new HttpError(409, `job ${id} is ${job.status}; only ${RETRYABLE_STATUSES.join(', ')} jobs can be retried`);
        }
        const c = await appendStatus(ctx, tx, id, 'Waiting');
        const msg = await buildRequestForJob(tx, id, ctx.config.webHost);
        await enqueueBuildRequest(tx, id, msg!);
        return c;
      });
      emitStatusChanges(ctx, [change]);
      ctx.events.emit({ type: 'outbox.pending' });
      return { id, status: 'Waiting' };
    }),
  );
}
