// The builders registry: launchpad-buildd style builders known to this controller.
import type { Selectable } from 'kysely';
import type { Ctx } from '../context';
import type { BuilderTable } from '../db/schema';
import { nowText } from '../db/time';
import { HttpError } from '../http/errors';
import type { BuilderCreate, BuilderInfo, BuilderPatch } from '@shared/builders-api';

export type BuilderRow = Selectable<BuilderTable>;

function iso(t: string | null): string | null {
  return t == null ? null : t.slice(0, 23).replace(' ', 'T') + 'Z';
}

export async function listBuilders(ctx: Ctx): Promise<BuilderRow[]> {
  return ctx.db.kysely.selectFrom('builders').selectAll().orderBy('name').execute();
}

export async function getBuilder(ctx: Ctx, name: string): Promise<BuilderRow | undefined> {
  return ctx.db.kysely.selectFrom('builders').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function builderInfo(ctx: Ctx, rows: BuilderRow[]): Promise<BuilderInfo[]> {
  const ids = rows.map((r) => r.id);
  const jobs = ids.length
    ? await ctx.db.kysely.selectFrom('builder_jobs as bj').innerJoin('job as j', 'j.id', 'bj.job_id').selectAll('bj').where('bj.builder_id', 'in', ids).execute()
    : [];
  const byBuilder = new Map(jobs.map((j) => [j.builder_id, j]));
  return rows.map((r) => {
    const j = byBuilder.get(r.id);
    return {
      id: r.id,
      name: r.name,
      url: r.url,
      arch: r.arch,
      virtualised: Boolean(r.virtualised),
      manual: Boolean(r.manual),
      enabled: Boolean(r.enabled),
      failureNotes: r.failure_notes,
      failureCount: Number(r.failure_count),
      cleanStatus: r.clean_status,
      lastStatus: r.last_status,
      version: r.version,
      lastSeen: iso(r.last_seen),
      currentJob: j ? { jobId: j.job_id, cookie: j.cookie, logtail: j.logtail, dispatchedAt: iso(j.dispatched_at) } : null,
      createdAt: iso(r.created_at)!,
      updatedAt: iso(r.updated_at)!,
    };
  });
}

export async function createBuilder(ctx: Ctx, b: BuilderCreate): Promise<BuilderRow> {
  if (await getBuilder(ctx, b.name)) throw new HttpError(409, `a builder named '${b.name}' already exists`);
  const now = nowText();
  await ctx.db.kysely
    .insertInto('builders')
    .values({
      name: b.name,
      url: b.url,
      arch: b.arch,
      virtualised: b.virtualised ? 1 : 0,
      manual: b.manual ? 1 : 0,
      enabled: b.enabled ? 1 : 0,
      failure_notes: null,
      last_status: null,
      version: null,
      last_seen: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return (await getBuilder(ctx, b.name))!;
}

export async function updateBuilder(ctx: Ctx, name: string, p: BuilderPatch): Promise<BuilderRow> {
  const row = await getBuilder(ctx, name);
  if (!row) throw new HttpError(404, `no builder named '${name}'`);
  const set: Record<string, unknown> = { updated_at: nowText() };
  if (p.url !== undefined) set.url = p.url;
  if (p.arch !== undefined) set.arch = p.arch;
  if (p.virtualised !== undefined) set.virtualised = p.virtualised ? 1 : 0;
  if (p.manual !== undefined) set.manual = p.manual ? 1 : 0;
  if (p.failureNotes !== undefined) set.failure_notes = p.failureNotes;
  if (p.enabled !== undefined) {
    set.enabled = p.enabled ? 1 : 0;
    if (p.enabled && !row.enabled) {
      // Back in service: forget old failures, and clean it before trusting it with a job.
      set.failure_count = 0;
      set.clean_status = 'DIRTY';
      if (p.failureNotes === undefined) set.failure_notes = null;
    }
  }
  await ctx.db.kysely.updateTable('builders').set(set).where('id', '=', row.id).execute();
  return (await getBuilder(ctx, name))!;
}

/** Removes a builder. Refused while it holds a job: disable it first so the job goes back to the queue. */
export async function deleteBuilder(ctx: Ctx, name: string): Promise<void> {
  const row = await getBuilder(ctx, name);
  if (!row) throw new HttpError(404, `no builder named '${name}'`);
  const job = await ctx.db.kysely
    .selectFrom('builder_jobs as bj')
    .innerJoin('job as j', 'j.id', 'bj.job_id')
    .select('bj.job_id')
    .where('bj.builder_id', '=', row.id)
    .executeTakeFirst();
  if (job) throw new HttpError(409, `builder '${name}' is building job ${job.job_id}; disable it first (its job then goes back to the queue)`);
  await ctx.db.kysely.transaction().execute(async (tx) => {
    await tx.updateTable('builder_jobs').set({ builder_id: null }).where('builder_id', '=', row.id).execute();
    await tx.deleteFrom('builders').where('id', '=', row.id).execute();
  });
}
