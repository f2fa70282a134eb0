// pyBit's process_job (spec/pybit.md §3.4): one request becomes jobs fanned out over the suite's
// architectures and build environments. Rows, history, transport log and outgoing messages are
// written in one transaction, so a request either creates everything or nothing; a batch of
// requests (a push touching several packages) shares one transaction the same way.
import { sql, type Transaction } from 'kysely';
import type { Ctx } from '../context';
import type { Database } from '../db/schema';
import { HttpError } from '../http/errors';
import { nowText } from '../db/time';
import { parseArchList } from '@shared/arch-list';
import { versionError } from '@shared/version-compare';
import { buildRequest, transport } from '@shared/pybit-models';
import { SUBDIR_METHODS, SourceSubdirError, splitSourceUri } from '@shared/source-subdir';
import { insertInstancesAndJobs, insertJobDetails } from './submission-writes';
import { offerOutboxRows, type PendingOutboxRow } from './outbox';
import { insertRows } from '../db/insert-rows';
import { appendStatus, emitStatusChanges } from './job-status';
import { jobModel, type JobRowFull } from './models';
import { submissionLookups, type NamedRow, type SubmissionLookups } from './submission-lookups';
import { noEffects, supersede, type CancelEffects } from './cancel';

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

/** A git or svn URI may name a package's subdirectory (`#subdir=`), which must stay inside the repository. */
export function checkSourceUri(method: string, uri: string, field = 'uri'): void {
  if (!SUBDIR_METHODS.has(method)) return;
  try {
    splitSourceUri(uri);
  } catch (e) {
    if (e instanceof SourceSubdirError) throw new HttpError(400, `'${field}': ${e.message}`);
    throw e;
  }
}

function checkBlacklist(rules: SubmissionLookups['blacklist'], name: string, uri: string | null): void {
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

/** What a submission is refused for by its own fields, before anything is read. */
function checkSubmissionFields(sub: JobSubmission): void {
  checkPackageName(sub.name);
  checkVersion(sub.version);
  checkSourceUri(sub.transport.method, sub.transport.uri);
}

/** What a submission is refused for by the database's lookups: the blacklist, unknown names. */
function checkLookups(sub: JobSubmission, lk: SubmissionLookups): { suite: NamedRow; dist: NamedRow; format: NamedRow } {
  checkBlacklist(lk.blacklist, sub.name, sub.transport.uri);
  if (!lk.suite) throw new HttpError(400, `unknown suite '${sub.suite}'`);
  if (!lk.dist) throw new HttpError(400, `unknown distribution '${sub.dist}'`);
  if (!lk.format) throw new HttpError(400, `unknown format '${sub.format}'`);
  return { suite: lk.suite, dist: lk.dist, format: lk.format };
}

export async function processJob(ctx: Ctx, sub: JobSubmission): Promise<SubmissionResult> {
  return (await processJobs(ctx, [sub]))[0]!;
}

/**
 * Several submissions as one (a push touching several packages): all are written in one
 * transaction, so either every one is queued or none is, and the events and the outbox
 * hand-over follow the commit. With more than one, a refusal names the package it is about.
 */
export async function processJobs(ctx: Ctx, subs: readonly JobSubmission[]): Promise<SubmissionResult[]> {
  const named = subs.length > 1;
  for (const sub of subs) {
    try {
      checkSubmissionFields(sub);
    } catch (e) {
      throw inPackage(named, sub, e);
    }
  }
  if (subs.length === 0) return [];
  const fx = noEffects();
  const outboxRows: PendingOutboxRow[] = [];
  const results = await ctx.db.kysely.transaction().execute(async (tx) => {
    // Submissions for one package name run one at a time: instance get-or-create and
    // superseding read what earlier submissions wrote. SQLite transactions are serial already;
    // on PostgreSQL (read committed) two concurrent ones would each miss the other's rows and
    // create duplicate instances or leave both of two equal versions unfinished.
    if (ctx.db.dialect === 'postgres') await lockPackages(tx, subs);
    const out: SubmissionResult[] = [];
    for (const sub of subs) {
      try {
        out.push(await submitOne(ctx, tx, sub, fx, outboxRows));
      } catch (e) {
        throw inPackage(named, sub, e);
      }
    }
    return out;
  });
  // The publisher takes the new messages as written; CancelRequests from superseding (and
  // everything when it does not take them) it reads from the table. Before the events: a worker
  // waiting for the message matters more than the listeners that show the new job.
  const handedOver = offerOutboxRows(ctx.db, outboxRows);
  for (const r of results) for (const id of r.jobIds) ctx.events.emit({ type: 'job.created', jobId: id, status: 'Waiting' });
  emitStatusChanges(ctx, fx.changes);
  if (!handedOver || fx.cancelRequests > 0) ctx.events.emit({ type: 'outbox.pending' });
  return results;
}

/**
 * The per-package advisory locks of a transaction's submissions. One package (every submission
 * but a push's) takes its lock in one plain statement; several take theirs in one statement in
 * ascending order of lock key, so that two batches sharing packages cannot each hold a lock the
 * other waits for. PostgreSQL computes the select list after the ORDER BY sort when the sort does
 * not refer to it, so the locks are taken in that order.
 */
async function lockPackages(tx: Transaction<Database>, subs: readonly JobSubmission[]): Promise<void> {
  const keys = [...new Set(subs.map((s) => `buildbox.submit:${s.name}`))];
  if (keys.length === 1) {
    await sql`select pg_advisory_xact_lock(hashtext(${keys[0]!}))`.execute(tx);
    return;
  }
  await sql`select pg_advisory_xact_lock(l.h) from (select distinct hashtext(k) as h from unnest(cast(${keys} as text[])) as k) as l order by l.h`.execute(tx);
}

/** In a batch, a refusal says which package it is about. */
function inPackage(named: boolean, sub: JobSubmission, e: unknown): unknown {
  return named && e instanceof HttpError ? new HttpError(e.statusCode, `${e.message} (package ${sub.name})`, e.body) : e;
}

/** Writes one submission inside the batch's transaction; its outbox rows and effects are collected for after the commit. */
async function submitOne(ctx: Ctx, tx: Transaction<Database>, sub: JobSubmission, fx: CancelEffects, outboxRows: PendingOutboxRow[]): Promise<SubmissionResult> {
  const lk = await submissionLookups(tx, sub);
  const { suite, dist, format } = checkLookups(sub, lk);

  type Target = { arch_id: number; env_id: number | null; env: string | null; instance?: { id: number; master: number } };
  let chosen: Target[];
  if (sub.instanceId !== undefined) {
    const pi = await tx
      .selectFrom('packageinstance as pi')
      .innerJoin('package as p', 'p.id', 'pi.package_id')
      .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
      .select(['pi.id', 'pi.arch_id', 'pi.buildenv_id', 'pi.master', 'be.name as env', 'p.name', 'p.version', 'pi.suite_id', 'pi.dist_id', 'pi.format_id'])
      .where('pi.id', '=', sub.instanceId)
      .executeTakeFirst();
    if (!pi) throw new HttpError(404, `404 - No packageinstance found with ID ${sub.instanceId}.`);
    if (pi.name !== sub.name || pi.version !== sub.version || pi.suite_id !== suite.id || pi.dist_id !== dist.id || pi.format_id !== format.id) {
      throw new HttpError(409, `packageinstance ${sub.instanceId} is not ${sub.name} ${sub.version} for ${sub.dist}/${sub.suite}/${sub.format}`);
    }
    chosen = [{ arch_id: pi.arch_id, env_id: pi.buildenv_id, env: pi.env ?? null, instance: { id: pi.id, master: pi.master } }];
  } else {
    chosen = fanOut();
  }

  function fanOut(): Target[] {
    // (env, suite-arch) rows: env id ascending with "no env" last, then master_weight descending.
    const rows = [...lk.suiteArches];
    rows.sort(
      (x, y) =>
        (x.env_id == null ? 1 : 0) - (y.env_id == null ? 1 : 0) ||
        (x.env_id ?? 0) - (y.env_id ?? 0) ||
        y.weight - x.weight ||
        x.sa_id - y.sa_id,
    );
    if (rows.length === 0) throw new HttpError(400, `suite '${sub.suite}' has no architectures configured (add suite-arch mappings)`);

    const parsed = parseArchList(sub.arches, [...lk.arches.values()]);
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

  const waitingId = await ctx.statuses.id('Waiting');
  if (waitingId === undefined) throw new HttpError(409, "status 'Waiting' is missing from the status table");

  // Insert-or-get the package (read above; inserted here when new). A package that did not
  // exist has no instances to reuse.
  let pkgId = lk.packageId;
  if (pkgId === undefined) {
    const [inserted] = await insertRows(tx, ctx.db.dialect, 'package', ['name', 'version'], [{ name: sub.name, version: sub.version }], ['id'], { skipOn: ['name', 'version'] });
    // Made meanwhile by a route that does not take the per-package lock (POST /package).
    pkgId = inserted?.id ?? (await tx.selectFrom('package').select('id').where('name', '=', sub.name).where('version', '=', sub.version).executeTakeFirstOrThrow()).id;
  }

  // Instances per target: an existing one (the lowest id for the same arch and environment)
  // keeps its master flag (pyBit #84: resubmission flipped flags); a new one is master when
  // it is the first of its environment (the highest-weight selected arch).
  const targetKey = (archId: number, envId: number | null) => `${archId}\0${envId ?? ''}`;
  const existing = new Map<string, { id: number; master: number }>();
  for (const r of lk.instances) {
    const k = targetKey(r.arch_id, r.env_id);
    if (!existing.has(k)) existing.set(k, { id: r.id, master: r.master });
  }
  const toCreate: Array<{ key: string; arch_id: number; env_id: number | null; master: number }> = [];
  const jobInstances: Array<number | { create: number }> = [];
  let prevEnv: number | null | undefined = undefined;
  for (const t of chosen) {
    const isMaster = t.env_id !== prevEnv;
    prevEnv = t.env_id;
    if (t.instance) {
      jobInstances.push(t.instance.id);
      continue;
    }
    const k = targetKey(t.arch_id, t.env_id);
    const have = existing.get(k);
    if (have) {
      jobInstances.push(have.id);
      continue;
    }
    // The same arch and environment twice in one fan-out share one instance.
    let i = toCreate.findIndex((c) => c.key === k);
    if (i < 0) i = toCreate.push({ key: k, arch_id: t.arch_id, env_id: t.env_id, master: isMaster ? 1 : 0 }) - 1;
    jobInstances.push({ create: i });
  }

  const now = nowText();
  const { instanceIds, jobIds } = await insertInstancesAndJobs(
    tx,
    ctx.db.dialect,
    { packageId: pkgId, suiteId: suite.id, distId: dist.id, formatId: format.id },
    toCreate,
    jobInstances,
    now,
  );
  const masterOf = new Map<number, number>();
  for (const t of chosen) if (t.instance) masterOf.set(t.instance.id, t.instance.master);
  for (const e of existing.values()) masterOf.set(e.id, e.master);
  toCreate.forEach((c, i) => masterOf.set(instanceIds[i]!, c.master));

  // The messages are built from the values written here (no re-read of the job rows).
  const tp = transport(sub.transport.method, sub.transport.uri, sub.transport.vcsId);
  const details = jobIds.map((id, i) => {
    const t = chosen[i]!;
    const j = jobInstances[i]!;
    const piId = typeof j === 'number' ? j : instanceIds[j.create]!;
    const row: JobRowFull = {
      j_id: id,
      j_status: 'Waiting',
      bc_id: null,
      bc_name: null,
      pi_id: piId,
      pi_master: masterOf.get(piId) ?? 0,
      p_id: pkgId,
      p_name: sub.name,
      p_version: sub.version,
      a_id: t.arch_id,
      a_name: lk.arches.get(t.arch_id) ?? '',
      be_id: t.env_id,
      be_name: t.env_id == null ? null : t.env,
      s_id: suite.id,
      s_name: suite.name,
      d_id: dist.id,
      d_name: dist.name,
      f_id: format.id,
      f_name: format.name,
    };
    return { jobId: id, buildenvName: t.env, message: buildRequest(jobModel(row), tp, ctx.config.webHost, null) };
  });
  outboxRows.push(...(await insertJobDetails(tx, ctx.db.dialect, details, { waitingId, now, method: sub.transport.method, uri: sub.transport.uri, vcsId: sub.transport.vcsId })));
  const cancelledBefore = fx.changes.length;
  await supersede(ctx, tx, { version: sub.version, unfinished: lk.unfinished, jobs: jobIds.map((id, i) => ({ id, archId: chosen[i]!.arch_id, envId: chosen[i]!.env_id })) }, fx);
  return { jobIds, cancelled: fx.changes.slice(cancelledBefore).map((c) => c.jobId) };
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
