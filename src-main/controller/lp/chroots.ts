// Chroot tarballs for builders, per (suite, arch[, build environment]), stored in the librarian.
import type { Ctx } from '../context';
import { nowText } from '../db/time';
import { HttpError } from '../http/errors';
import { checkFileName } from '../store/file-store';
import type { ChrootInfo } from '@shared/builders-api';
import { librarianFor } from './librarian';

export interface ChrootTarget {
  suite: string;
  arch: string;
  environment?: string;
}

/** Resolves a target; a 400 naming the field when the suite, arch or environment is unknown. */
export async function resolveChrootTarget(ctx: Ctx, t: ChrootTarget): Promise<{ suiteId: number; archId: number; environment: string }> {
  const db = ctx.db.kysely;
  const suite = await db.selectFrom('suite').select('id').where('name', '=', t.suite).executeTakeFirst();
  if (!suite) throw new HttpError(400, `suite: unknown suite '${t.suite}'`);
  const arch = await db.selectFrom('arch').select('id').where('name', '=', t.arch).executeTakeFirst();
  if (!arch) throw new HttpError(400, `arch: unknown architecture '${t.arch}'`);
  const environment = t.environment ?? '';
  if (environment !== '') {
    const env = await db.selectFrom('buildenv').select('id').where('name', '=', environment).executeTakeFirst();
    if (!env) throw new HttpError(400, `environment: unknown build environment '${environment}'`);
  }
  return { suiteId: suite.id, archId: arch.id, environment };
}

/** Registers (or replaces) the chroot of a target with a file the librarian already holds. */
export async function registerChroot(ctx: Ctx, t: ChrootTarget, sha1: string, name?: string): Promise<ChrootInfo> {
  const target = await resolveChrootTarget(ctx, t);
  const file = await ctx.db.kysely.selectFrom('files').select(['sha1', 'size']).where('sha1', '=', sha1).executeTakeFirst();
  const size = await librarianFor(ctx).size(sha1);
  if (!file || size == null) throw new HttpError(400, `sha1: the librarian holds no file ${sha1} (upload it first: POST /api/v1/files)`);
  const fileName = checkFileName(name ?? `chroot-${t.suite}-${t.arch}${target.environment ? `-${target.environment}` : ''}.tar`, 'name');
  const now = nowText();
  await ctx.db.kysely
    .insertInto('chroots')
    .values({ suite_id: target.suiteId, arch_id: target.archId, environment: target.environment, sha1, name: fileName, size, created_at: now })
    .onConflict((oc) => oc.columns(['suite_id', 'arch_id', 'environment']).doUpdateSet({ sha1, name: fileName, size, created_at: now }))
    .execute();
  const row = (await listChroots(ctx)).find((c) => c.suite === t.suite && c.arch === t.arch && (c.environment ?? '') === target.environment);
  return row!;
}

export async function listChroots(ctx: Ctx): Promise<ChrootInfo[]> {
  const rows = await ctx.db.kysely
    .selectFrom('chroots as c')
    .innerJoin('suite as s', 's.id', 'c.suite_id')
    .innerJoin('arch as a', 'a.id', 'c.arch_id')
    .select(['c.id', 's.name as suite', 'a.name as arch', 'c.environment', 'c.sha1', 'c.name', 'c.size', 'c.created_at'])
    .orderBy('s.name')
    .orderBy('a.name')
    .orderBy('c.environment')
    .execute();
  const lib = librarianFor(ctx);
  return rows.map((r) => ({
    id: r.id,
    suite: r.suite,
    arch: r.arch,
    environment: r.environment === '' ? null : r.environment,
    sha1: r.sha1,
    name: r.name,
    size: Number(r.size),
    url: lib.url(r.sha1, r.name),
    createdAt: r.created_at.slice(0, 23).replace(' ', 'T') + 'Z',
  }));
}

export async function deleteChroot(ctx: Ctx, id: number): Promise<void> {
  const r = await ctx.db.kysely.deleteFrom('chroots').where('id', '=', id).executeTakeFirst();
  if (Number(r.numDeletedRows) !== 1) throw new HttpError(404, `no chroot with id ${id}`);
}

/** The chroot for a job's target: the environment's own, else the suite/arch one. */
export async function chrootFor(ctx: Ctx, suiteId: number, archId: number, environment: string | null): Promise<{ sha1: string; name: string } | undefined> {
  const rows = await ctx.db.kysely
    .selectFrom('chroots')
    .select(['sha1', 'name', 'environment'])
    .where('suite_id', '=', suiteId)
    .where('arch_id', '=', archId)
    .where('environment', 'in', environment ? [environment, ''] : [''])
    .execute();
  return rows.find((r) => r.environment !== '') ?? rows[0];
}
