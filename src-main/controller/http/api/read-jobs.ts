// GET /api/v1/jobs (filters, cursor pagination, totals) and GET /api/v1/jobs/:id.
//
// The list is read in two steps: the matching job ids first, from the job table alone with
// every filter as an id subquery (so counts and pages need no joins and the planner can use the
// job indexes), then the names for just that page's rows.
import type { FastifyInstance } from 'fastify';
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import {
  apiRoutes,
  decodeCursor,
  encodeCursor,
  JobIdParams,
  JobListQuery,
  routerPath,
  type JobDetail,
  type JobListResponse,
  type JobSummary,
} from '@shared/api';
import type { Database } from '../../db/schema';
import { HttpError } from '../errors';
import type { AuthDeps } from '../pybit/common';
import { iso, parseParams, parseQuery } from './read-common';

type Filter = JobListQuery;
// Filters are composed dynamically over aliased tables; the result rows are typed below.
type Eb = ExpressionBuilder<any, any>;

/** `LIKE` pattern for a case-insensitive substring match, with the wildcards escaped. */
function containsPattern(s: string): string {
  return `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function lowerLike(column: string, pattern: string): Expression<SqlBool> {
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

/** Every filter except (optionally) status, as one condition on `job as j`. */
function jobFilter(eb: Eb, f: Filter, opts: { status: boolean; cursor: boolean }): Expression<SqlBool> {
  const conds: Expression<SqlBool>[] = [];
  if (opts.status && f.status && f.status.length > 0) conds.push(eb('j.status', 'in', f.status));
  if (opts.cursor && f.cursor) conds.push(eb('j.id', '<', decodeCursor(f.cursor)));

  // Conditions on the package instance become one `packageinstance_id IN (…)` subquery.
  const pi: Array<(e: Eb) => Expression<SqlBool>> = [];
  if (f.package !== undefined || f.version !== undefined) {
    pi.push((e) => {
      let p = e.selectFrom('package as fp').select('fp.id');
      if (f.package !== undefined) p = p.where('fp.name', '=', f.package);
      if (f.version !== undefined) p = p.where('fp.version', '=', f.version);
      return e('fpi.package_id', 'in', p);
    });
  }
  const byName = (column: string, table: 'arch' | 'suite' | 'distribution' | 'format', value: string | undefined) => {
    if (value === undefined) return;
    pi.push((e) => e(column, 'in', e.selectFrom(`${table} as fl`).select('fl.id').where('fl.name', '=', value)));
  };
  byName('fpi.arch_id', 'arch', f.arch);
  byName('fpi.suite_id', 'suite', f.suite);
  byName('fpi.dist_id', 'distribution', f.dist);
  byName('fpi.format_id', 'format', f.format);
  if (f.environment !== undefined) {
    const env = f.environment;
    pi.push((e) =>
      env === '' ? e('fpi.buildenv_id', 'is', null) : e('fpi.buildenv_id', 'in', e.selectFrom('buildenv as fe').select('fe.id').where('fe.name', '=', env)),
    );
  }
  if (pi.length > 0) {
    conds.push(eb('j.packageinstance_id', 'in', eb.selectFrom('packageinstance as fpi').select('fpi.id').where((e: Eb) => e.and(pi.map((c) => c(e))))));
  }

  if (f.client !== undefined) {
    const client = f.client;
    conds.push(
      client === ''
        ? eb('j.buildclient_id', 'is', null)
        : eb('j.buildclient_id', 'in', eb.selectFrom('buildclients as fc').select('fc.id').where('fc.name', '=', client)),
    );
  }
  if (f.q !== undefined && f.q !== '') {
    const pattern = containsPattern(f.q);
    const packages = eb
      .selectFrom('packageinstance as qpi')
      .innerJoin('package as qp', 'qp.id', 'qpi.package_id')
      .select('qpi.id')
      .where((e: Eb) => e.or([lowerLike('qp.name', pattern), lowerLike('qp.version', pattern)]));
    const clients = eb.selectFrom('buildclients as qc').select('qc.id').where(lowerLike('qc.name', pattern));
    conds.push(eb.or([eb('j.packageinstance_id', 'in', packages), eb('j.buildclient_id', 'in', clients)]));
  }
  return eb.and(conds);
}

interface SummaryRow {
  id: number;
  status: string;
  created_at: string;
  updated_at: string;
  result: string | null;
  result_details: string | null;
  attempts: number;
  packageinstance_id: number;
  master: number;
  package: string;
  version: string;
  arch: string;
  suite: string;
  dist: string;
  format: string;
  environment: string | null;
  client: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  retry_at: string | null;
}

function summaryQuery(db: Kysely<Database>) {
  return db
    .selectFrom('job as j')
    .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
    .innerJoin('package as p', 'p.id', 'pi.package_id')
    .innerJoin('arch as a', 'a.id', 'pi.arch_id')
    .innerJoin('suite as s', 's.id', 'pi.suite_id')
    .innerJoin('distribution as d', 'd.id', 'pi.dist_id')
    .innerJoin('format as f', 'f.id', 'pi.format_id')
    .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
    .leftJoin('buildclients as bc', 'bc.id', 'j.buildclient_id')
    .select([
      'j.id',
      'j.status',
      'j.created_at',
      'j.updated_at',
      'j.result',
      'j.result_details',
      'j.attempts',
      'j.packageinstance_id',
      'j.lease_owner',
      'j.lease_expires_at',
      'j.retry_at',
      'pi.master',
      'p.name as package',
      'p.version',
      'a.name as arch',
      's.name as suite',
      'd.name as dist',
      'f.name as format',
      'be.name as environment',
      'bc.name as client',
    ]);
}

function summary(r: SummaryRow): JobSummary {
  return {
    id: r.id,
    package: r.package,
    version: r.version,
    arch: r.arch,
    suite: r.suite,
    dist: r.dist,
    format: r.format,
    environment: r.environment,
    master: Boolean(r.master),
    status: r.status,
    client: r.client,
    result: r.result,
    resultDetails: r.result_details,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    attempts: Number(r.attempts),
  };
}

export async function listJobs(db: Kysely<Database>, f: Filter): Promise<JobListResponse> {
  const idRows = await db
    .selectFrom('job as j')
    .select('j.id')
    .where((eb) => jobFilter(eb, f, { status: true, cursor: true }))
    .orderBy('j.id', 'desc')
    .limit(f.limit + 1)
    .execute();
  const more = idRows.length > f.limit;
  const ids = idRows.slice(0, f.limit).map((r) => r.id);
  const rows = ids.length === 0 ? [] : ((await summaryQuery(db).where('j.id', 'in', ids).orderBy('j.id', 'desc').execute()) as SummaryRow[]);
  const totalRow = await db
    .selectFrom('job as j')
    .select((eb) => eb.fn.countAll().as('n'))
    .where((eb) => jobFilter(eb, f, { status: true, cursor: false }))
    .executeTakeFirstOrThrow();
  const out: JobListResponse = {
    items: rows.map(summary),
    nextCursor: more ? encodeCursor(ids[ids.length - 1]!) : null,
    total: Number(totalRow.n),
  };
  if (f.counts) {
    const byStatus = await db
      .selectFrom('job as j')
      .select((eb) => ['j.status', eb.fn.countAll().as('n')])
      .where((eb) => jobFilter(eb, f, { status: false, cursor: false }))
      .groupBy('j.status')
      .execute();
    out.counts = Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)]));
  }
  return out;
}

export async function jobDetail(db: Kysely<Database>, id: number): Promise<JobDetail | undefined> {
  const row = (await summaryQuery(db).where('j.id', '=', id).executeTakeFirst()) as SummaryRow | undefined;
  if (!row) return undefined;
  const history = await db
    .selectFrom('jobstatus as js')
    .innerJoin('status as st', 'st.id', 'js.status_id')
    .select(['st.name as status', 'js.time'])
    .where('js.job_id', '=', id)
    .orderBy('js.time')
    .orderBy('js.id')
    .execute();
  const br = await db.selectFrom('buildrequest').select(['method', 'uri', 'vcs_id']).where('job', '=', id).orderBy('id').executeTakeFirst();
  return {
    ...summary(row),
    packageinstanceId: row.packageinstance_id,
    history: history.map((h) => ({ status: h.status, time: iso(h.time) })),
    transport: br ? { method: br.method, uri: br.uri, vcsId: br.vcs_id } : null,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: iso(row.lease_expires_at),
    retryAt: iso(row.retry_at),
  };
}

export function registerJobReads(app: FastifyInstance, deps: AuthDeps): void {
  const db = deps.ctx.db.kysely;
  app.get(routerPath(apiRoutes.listJobs.path), async (req) => listJobs(db, parseQuery(JobListQuery, req)));
  app.get(routerPath(apiRoutes.getJob.path), async (req) => {
    const { id } = parseParams(JobIdParams, req);
    const job = await jobDetail(db, id);
    if (!job) throw new HttpError(404, `no job with id ${id}`);
    return job;
  });
}
