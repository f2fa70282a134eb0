// pyBit's process_job (spec/pybit.md §3.4): one request becomes jobs fanned out over the suite's
// architectures and build environments. Rows, history, transport log and outgoing messages are
// written in one transaction, so a request either creates everything or nothing.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema';
import type { Ctx } from '../context';
import { HttpError } from '../http/errors';
import { nowText } from '../db/time';
import { parseArchList } from '@shared/arch-list';
import { versionError } from '@shared/version-compare';
import { buildRequest, transport } from '@shared/pybit-models';
import { enqueueBuildRequest } from './outbox';
import { appendStatus, emitStatusChanges } from './job-status';
import { jobModel, loadJob } from './models';
import { noEffects, supersede } from './cancel';

export interface JobSubmission {
  dist: string;
  /** pyBit's architecture_list: `any`, `all`, `linux-any`, explicit names… */
  arches: string;
  version: string;
  name: string;
  suite: string;
  format: string;
  transport: { method: string; uri: string; vcsId: string };
  /** Restrict to one build environment (retry, POST /job); undefined = every environment. */
  buildEnv?: string | null;
  /**
   * Build exactly this packageinstance (POST /job, retry) instead of fanning out over the
   * suite's architectures: the instance may be one made by hand for an arch the suite does not
   * map, or one of two identical instances, and its master flag is kept as it is.
   */
  instanceId?: number;
}

export interface SubmissionResult {
  jobIds: number[];
  cancelled: number[];
}

/** Debian source package names (policy §5.6.1). Enforced so names are safe in queue and file names. */
const SOURCE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

export function checkPackageName(name: string, field = 'package'): void {
  if (!SOURCE_NAME.test(name) || name.length > 200) {
    throw new HttpError(400, `'${field}' must be a Debian source package name (lower-case letters, digits, '+', '-', '.'; at least 2 characters), got '${name.slice(0, 60)}'`);
  }
}

export function checkVersion(version: string, field = 'package_version'): void {
  const err = versionError(version);
  if (err) throw new HttpError(400, `'${field}' is not a valid Debian version: ${err}`);
}

async function checkBlacklist(tx: Transaction<Database>, name: string, uri: string | null): Promise<void> {
  const rules = await tx.selectFrom('blacklist').selectAll().orderBy('id').execute();
  for (const r of rules) {
    const subject = r.field === 'name' ? name : r.field === 'vcs_uri' ? uri : null;
    if (subject == null || subject === '') continue;
    let re: RegExp;
    try {
      re = new RegExp(r.regex);
    } catch {
      continue; // rules are validated on creation; an old unparsable one matches nothing
    }
    if (re.test(subject)) {
      throw new HttpError(403, `refused by blacklist rule ${r.id}: ${r.field} matches ${r.regex}`);
    }
  }
}

export async function processJob(ctx: Ctx, sub: JobSubmission): Promise<SubmissionResult> {
  checkPackageName(sub.name);
  checkVersion(sub.version);
  const fx = noEffects();
  const created: number[] = [];
  const result = await ctx.db.kysely.transaction().execute(async (tx) => {
    // Submissions for one package name run one at a time: instance get-or-create and
    // superseding read what earlier submissions wrote. SQLite transactions are serial already;
    // on PostgreSQL (read committed) two concurrent ones would each miss the other's rows and
    // create duplicate instances or leave both of two equal versions unfinished.
    if (ctx.db.dialect === 'postgres') {
      await sql`select pg_advisory_xact_lock(hashtext(${`buildbox.submit:${sub.name}`}))`.execute(tx);
    }
    await checkBlacklist(tx, sub.name, sub.transport.uri);
    const suite = await tx.selectFrom('suite').selectAll().where('name', '=', sub.suite).executeTakeFirst();
    if (!suite) throw new HttpError(400, `unknown suite '${sub.suite}'`);
    const dist = await tx.selectFrom('distribution').selectAll().where('name', '=', sub.dist).executeTakeFirst();
    if (!dist) throw new HttpError(400, `unknown distribution '${sub.dist}'`);
    const format = await tx.selectFrom('format').selectAll().where('name', '=', sub.format).executeTakeFirst();
    if (!format) throw new HttpError(400, `unknown format '${sub.format}'`);

    type Target = { arch_id: number; env_id: number | null; env: string | null; instanceId?: number };
    let chosen: Target[];
    if (sub.instanceId !== undefined) {
      const pi = await tx
        .selectFrom('packageinstance as pi')
        .innerJoin('package as p', 'p.id', 'pi.package_id')
        .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
        .select(['pi.id', 'pi.arch_id', 'pi.buildenv_id', 'be.name as env', 'p.name', 'p.version', 'pi.suite_id', 'pi.dist_id', 'pi.format_id'])
        .where('pi.id', '=', sub.instanceId)
        .executeTakeFirst();
      if (!pi) throw new HttpError(404, `404 - No packageinstance found with ID ${sub.instanceId}.`);
      if (pi.name !== sub.name || pi.version !== sub.version || pi.suite_id !== suite.id || pi.dist_id !== dist.id || pi.format_id !== format.id) {
        throw new HttpError(409, `packageinstance ${sub.instanceId} is not ${sub.name} ${sub.version} for ${sub.dist}/${sub.suite}/${sub.format}`);
      }
      chosen = [{ arch_id: pi.arch_id, env_id: pi.buildenv_id, env: pi.env ?? null, instanceId: pi.id }];
    } else {
      chosen = await fanOut(suite.id);
    }

    async function fanOut(suiteId: number): Promise<Target[]> {
      // (env, suite-arch) rows: env id ascending with "no env" last, then master_weight descending.
      const rows = await tx
        .selectFrom('suitearches as sa')
        .innerJoin('arch as a', 'a.id', 'sa.arch_id')
        .leftJoin('buildenvsuitearch as besa', 'besa.suitearch_id', 'sa.id')
        .leftJoin('buildenv as be', 'be.id', 'besa.buildenv_id')
        .select(['sa.id as sa_id', 'a.id as arch_id', 'a.name as arch', 'sa.master_weight as weight', 'be.id as env_id', 'be.name as env'])
        .where('sa.suite_id', '=', suiteId)
        .execute();
      rows.sort(
        (x, y) =>
          (x.env_id == null ? 1 : 0) - (y.env_id == null ? 1 : 0) ||
          (x.env_id ?? 0) - (y.env_id ?? 0) ||
          y.weight - x.weight ||
          x.sa_id - y.sa_id,
      );
      if (rows.length === 0) throw new HttpError(400, `suite '${sub.suite}' has no architectures configured (add suite-arch mappings)`);

      const known = (await tx.selectFrom('arch').select('name').execute()).map((r) => r.name);
      const parsed = parseArchList(sub.arches, known);
      if (!parsed.ok) throw new HttpError(400, `architecture_list: ${parsed.error}`);
      const sel = parsed.selection;

      const envMatches = (env: string | null) => sub.buildEnv === undefined || sub.buildEnv === env;
      const candidates = rows.filter((r) => envMatches(r.env));
      let picked: typeof rows;
      if (sel.kind === 'all') {
        const seen = new Set<string>();
        picked = candidates.filter((r) => {
          const k = String(r.env_id);
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        });
      } else if (sel.kind === 'any') {
        picked = candidates;
      } else {
        picked = candidates.filter((r) => sel.arches.includes(r.arch));
      }
      if (picked.length === 0) {
        throw new HttpError(400, `suite '${sub.suite}' builds none of the requested architectures '${sub.arches}'${sub.buildEnv ? ` in environment '${sub.buildEnv}'` : ''}`);
      }
      return picked;
    }

    await tx.insertInto('package').values({ name: sub.name, version: sub.version }).onConflict((oc) => oc.columns(['name', 'version']).doNothing()).execute();
    const pkg = await tx.selectFrom('package').select('id').where('name', '=', sub.name).where('version', '=', sub.version).executeTakeFirstOrThrow();

    const now = nowText();
    let prevEnv: number | null | undefined = undefined;
    for (const r of chosen) {
      // The first row of each environment is its master (the highest-weight selected arch).
      const isMaster = r.env_id !== prevEnv;
      prevEnv = r.env_id;
      let q = tx
        .selectFrom('packageinstance')
        .select('id')
        .where('package_id', '=', pkg.id)
        .where('arch_id', '=', r.arch_id)
        .where('dist_id', '=', dist.id)
        .where('format_id', '=', format.id)
        .where('suite_id', '=', suite.id);
      q = r.env_id == null ? q.where('buildenv_id', 'is', null) : q.where('buildenv_id', '=', r.env_id);
      let pi = r.instanceId !== undefined ? { id: r.instanceId } : await q.orderBy('id').executeTakeFirst();
      // An existing instance keeps its master flag (pyBit #84: resubmission flipped flags).
      if (!pi) {
        pi = await tx
          .insertInto('packageinstance')
          .values({
            package_id: pkg.id,
            buildenv_id: r.env_id,
            arch_id: r.arch_id,
            suite_id: suite.id,
            dist_id: dist.id,
            format_id: format.id,
            master: isMaster ? 1 : 0,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
      }
      const job = await tx
        .insertInto('job')
        .values({ packageinstance_id: pi.id, buildclient_id: null, status: 'Waiting', created_at: now, updated_at: now, result: null, result_details: null, lease_owner: null, lease_expires_at: null, retry_at: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      const waitingId = await ctx.statuses.id('Waiting');
      if (waitingId === undefined) throw new HttpError(409, "status 'Waiting' is missing from the status table");
      await tx.insertInto('jobstatus').values({ job_id: job.id, status_id: waitingId, time: now }).execute();
      await tx
        .insertInto('buildrequest')
        .values({ job: job.id, method: sub.transport.method, uri: sub.transport.uri, vcs_id: sub.transport.vcsId, buildenv_name: r.env })
        .execute();
      await supersede(ctx, tx, { id: job.id, name: sub.name, version: sub.version, distId: dist.id, archId: r.arch_id, suiteId: suite.id, envId: r.env_id }, fx);
      const full = await loadJob(tx, job.id);
      const msg = buildRequest(jobModel(full!), transport(sub.transport.method, sub.transport.uri, sub.transport.vcsId), ctx.config.webHost, null);
      await enqueueBuildRequest(tx, job.id, msg);
      created.push(job.id);
    }
    return { jobIds: created, cancelled: fx.changes.map((c) => c.jobId) };
  });
  for (const id of result.jobIds) ctx.events.emit({ type: 'job.created', jobId: id, status: 'Waiting' });
  emitStatusChanges(ctx, fx.changes);
  ctx.events.emit({ type: 'outbox.pending' });
  return result;
}

/** Appends a status and emits its event after commit. */
export async function setStatus(ctx: Ctx, jobId: number, status: string, opts: { clientName?: string | null } = {}): Promise<void> {
  const change = await ctx.db.kysely.transaction().execute(async (tx) => {
    let clientId: number | undefined;
    if (opts.clientName) {
      await tx.insertInto('buildclients').values({ name: opts.clientName, last_seen: nowText() }).onConflict((oc) => oc.column('name').doNothing()).execute();
      clientId = (await tx.selectFrom('buildclients').select('id').where('name', '=', opts.clientName).executeTakeFirstOrThrow()).id;
    }
    return appendStatus(ctx, tx, jobId, status, { clientId, clientName: opts.clientName ?? null });
  });
  emitStatusChanges(ctx, [change]);
}
