// GET /api/v1/stats: job counts by status, the oldest Waiting job, and the depth of each build
// queue as the database sees it (the database is the truth; RabbitMQ's own counts are a hint).
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { apiRoutes, routerPath, type StatsResponse } from '@shared/api';
import { buildQueueName } from '@shared/pybit-models';
import { STATUSES } from '@shared/statuses';
import type { Database } from '../../db/schema';
import { fromDbTime } from '../../db/time';
import type { AuthDeps } from '../pybit/common';
import { registerActivityRead } from './read-activity';

export async function loadStats(db: Kysely<Database>, now = new Date()): Promise<StatsResponse> {
  const byStatus = await db
    .selectFrom('job')
    .select((eb) => ['status', eb.fn.countAll().as('n')])
    .groupBy('status')
    .execute();
  // Every standard status appears, so dashboards and gauges see zeros rather than gaps.
  const counts: Record<string, number> = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  let total = 0;
  for (const r of byStatus) {
    counts[r.status] = Number(r.n);
    total += Number(r.n);
  }
  // A job's updated_at is the time of its latest status change, i.e. since when it has waited.
  const oldest = await db
    .selectFrom('job')
    .select((eb) => eb.fn.min('updated_at').as('t'))
    .where('status', '=', 'Waiting')
    .executeTakeFirst();
  const since = oldest?.t ? fromDbTime(String(oldest.t)) : null;
  const depths = await db
    .selectFrom('job as j')
    .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
    .where('j.status', '=', 'Waiting')
    .groupBy(['pi.dist_id', 'pi.arch_id', 'pi.suite_id', 'pi.format_id'])
    .select((eb) => ['pi.dist_id', 'pi.arch_id', 'pi.suite_id', 'pi.format_id', eb.fn.countAll().as('n')])
    .execute();
  const names = async (table: 'distribution' | 'arch' | 'suite' | 'format', ids: number[]) => {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map<number, string>();
    const rows = await db.selectFrom(table).select(['id', 'name']).where('id', 'in', unique).execute();
    return new Map(rows.map((r) => [r.id, r.name]));
  };
  const [dists, arches, suites, formats] = await Promise.all([
    names('distribution', depths.map((d) => d.dist_id)),
    names('arch', depths.map((d) => d.arch_id)),
    names('suite', depths.map((d) => d.suite_id)),
    names('format', depths.map((d) => d.format_id)),
  ]);
  const queues = depths
    .map((d) => {
      const dist = dists.get(d.dist_id) ?? '';
      const arch = arches.get(d.arch_id) ?? '';
      const suite = suites.get(d.suite_id) ?? '';
      const format = formats.get(d.format_id) ?? '';
      return { queue: buildQueueName(dist, arch, suite, format), dist, arch, suite, format, depth: Number(d.n) };
    })
    .sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
  return {
    counts,
    total,
    oldestWaitingSince: since ? since.toISOString() : null,
    oldestWaitingSeconds: since ? Math.max(0, (now.getTime() - since.getTime()) / 1000) : null,
    queues,
  };
}

export function registerStatsRead(app: FastifyInstance, deps: AuthDeps): void {
  const db = deps.ctx.db.kysely;
  app.get(routerPath(apiRoutes.stats.path), async () => loadStats(db));
  registerActivityRead(app, deps);
}
