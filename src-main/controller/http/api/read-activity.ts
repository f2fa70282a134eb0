// GET /api/v1/stats/activity: per-bucket activity over the last hours, from the job status
// history. One range scan of jobstatus by time (index jobstatus_time) reads only the window; for
// each row two lookups on (job_id, id) find the job's previous status and, for a finish, when
// its build started. The queue depth at each bucket's end is walked backwards from the current
// number of Waiting jobs, so history older than the window is never read. Status ids come from
// the controller's status cache, not from the status table on every request.
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { ActivityQuery, activityRoute, type ActivityBucket, type ActivityResponse } from '@shared/activity-api';
import type { Database } from '../../db/schema';
import type { StatusCache } from '../../context';
import { fromDbTime, toDbTime } from '../../db/time';
import type { AuthDeps } from '../pybit/common';
import { parseQuery } from './read-common';

export async function loadActivity(db: Kysely<Database>, statuses: StatusCache, hours: number, bucketMinutes: number, now = new Date()): Promise<ActivityResponse> {
  const width = bucketMinutes * 60_000;
  // The last bucket holds `now`; buckets start on multiples of their width (UTC).
  const to = (Math.floor(now.getTime() / width) + 1) * width;
  const n = Math.ceil((hours * 60) / bucketMinutes);
  const from = to - n * width;

  // A status missing from the table matches no row (ids are positive).
  const idOf = async (name: string) => (await statuses.id(name)) ?? -1;
  const waiting = await idOf('Waiting');
  const building = await idOf('Building');
  const done = await idOf('Done');
  const failed = await idOf('Failed');

  const rows = await db
    .selectFrom('jobstatus as js')
    .select((eb) => [
      'js.status_id',
      'js.time',
      eb
        .selectFrom('jobstatus as p')
        .select('p.status_id')
        .whereRef('p.job_id', '=', 'js.job_id')
        .whereRef('p.id', '<', 'js.id')
        .orderBy('p.id', 'desc')
        .limit(1)
        .as('prev_status_id'),
      eb
        .selectFrom('jobstatus as b')
        .select((b) => b.fn.max('b.time').as('t'))
        .whereRef('b.job_id', '=', 'js.job_id')
        .whereRef('b.id', '<', 'js.id')
        .where('b.status_id', '=', building)
        .as('build_start'),
    ])
    .where('js.time', '>=', toDbTime(new Date(from)))
    .orderBy('js.time')
    .orderBy('js.id')
    .execute();

  const waitingNow = Number(
    (await db.selectFrom('job').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'Waiting').executeTakeFirstOrThrow()).n,
  );

  const buckets: Array<ActivityBucket & { total: number; timed: number }> = Array.from({ length: n }, (_, i) => ({
    start: new Date(from + i * width).toISOString(),
    end: new Date(from + (i + 1) * width).toISOString(),
    submitted: 0,
    started: 0,
    done: 0,
    failed: 0,
    meanBuildSeconds: null,
    maxBuildSeconds: null,
    waitingAtEnd: 0,
    total: 0,
    timed: 0,
  }));

  // Each status change moves a job into or out of Waiting (or neither).
  const isWaiting = (id: number | null) => id === waiting;
  const deltas: Array<{ i: number; d: number }> = [];
  let sinceFrom = 0;
  for (const r of rows) {
    const t = fromDbTime(r.time).getTime();
    const d = (isWaiting(r.status_id) ? 1 : 0) - (isWaiting(r.prev_status_id) ? 1 : 0);
    sinceFrom += d;
    const i = Math.floor((t - from) / width);
    // Rows stamped after the window (a clock step) still count towards the depth correction.
    if (i < 0 || i >= n) continue;
    deltas.push({ i, d });
    const b = buckets[i]!;
    const status = r.status_id;
    if (r.prev_status_id == null) b.submitted++;
    if (status === building) b.started++;
    if (status === done || status === failed) {
      if (status === done) b.done++;
      else b.failed++;
      // Only finishes with a Building start are timed (a job may fail without ever building).
      if (r.build_start) {
        const secs = Math.max(0, (t - fromDbTime(String(r.build_start)).getTime()) / 1000);
        b.total += secs;
        b.timed++;
        b.maxBuildSeconds = Math.max(b.maxBuildSeconds ?? 0, secs);
      }
    }
  }
  let depth = waitingNow - sinceFrom;
  let k = 0;
  for (let i = 0; i < n; i++) {
    while (k < deltas.length && deltas[k]!.i === i) depth += deltas[k++]!.d;
    const b = buckets[i]!;
    b.waitingAtEnd = Math.max(0, depth);
    b.meanBuildSeconds = b.timed ? b.total / b.timed : null;
  }
  return {
    hours,
    bucketMinutes,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    buckets: buckets.map(({ total: _total, timed: _timed, ...b }) => b),
  };
}

export function registerActivityRead(app: FastifyInstance, deps: AuthDeps): void {
  const db = deps.ctx.db.kysely;
  app.get(activityRoute.path, async (req) => {
    const q = parseQuery(ActivityQuery, req);
    return loadActivity(db, deps.ctx.statuses, q.hours, q.bucket);
  });
}
