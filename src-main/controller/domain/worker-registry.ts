// Buildbox workers as they introduce themselves: a hello registers or updates the worker's row
// and doubles as its liveness signal. A worker unseen for three heartbeat periods is offline.
import type { Ctx } from '../context';
import { fromDbTime, nowText } from '../db/time';
import type { WorkerHello, WorkerHelloResponse, WorkerInfo } from '@shared/worker-api';

/** How often workers should say hello: a third of the lease, at least a second. */
export function heartbeatSeconds(ctx: Ctx): number {
  return Math.max(1, Math.floor(ctx.config.leaseSeconds / 3));
}

export async function workerHello(ctx: Ctx, hello: WorkerHello, principal: string | null): Promise<WorkerHelloResponse> {
  const now = nowText();
  const row = {
    arch: hello.arch,
    dist: hello.dist ?? null,
    format: hello.format ?? null,
    suites: JSON.stringify(hello.suites ?? []),
    backend: hello.backend ?? null,
    slots: hello.slots ?? 1,
    state: hello.state ?? 'idle',
    current_jobs: JSON.stringify(hello.currentJobs ?? []),
    version: hello.version ?? null,
    principal,
    last_seen: now,
  };
  await ctx.db.kysely
    .insertInto('workers')
    .values({ name: hello.name, first_seen: now, ...row })
    .onConflict((oc) => oc.column('name').doUpdateSet(row))
    .execute();
  ctx.events.emit({ type: 'worker.seen', name: hello.name, at: now });
  return { heartbeatSeconds: heartbeatSeconds(ctx), leaseSeconds: ctx.config.leaseSeconds, serverTime: new Date().toISOString() };
}

function jsonArray<T>(s: string, keep: (v: unknown) => v is T): T[] {
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? v.filter(keep) : [];
  } catch {
    return [];
  }
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isInteger(v);

export async function listWorkers(ctx: Ctx): Promise<WorkerInfo[]> {
  const db = ctx.db.kysely;
  const rows = await db.selectFrom('workers').selectAll().orderBy('name').execute();
  // What each worker holds, from the leases: the database's view, not the worker's last word.
  const leases = await db
    .selectFrom('job')
    .select(['id', 'lease_owner'])
    .where('status', '=', 'Building')
    .where('lease_owner', 'is not', null)
    .orderBy('id')
    .execute();
  const held = new Map<string, number[]>();
  for (const l of leases) {
    const list = held.get(l.lease_owner!) ?? [];
    list.push(l.id);
    held.set(l.lease_owner!, list);
  }
  const offlineAfterMs = 3 * heartbeatSeconds(ctx) * 1000;
  const now = Date.now();
  return rows.map((r) => {
    const online = now - fromDbTime(r.last_seen).getTime() <= offlineAfterMs;
    const reported = r.state === 'building' || r.state === 'stopping' ? (r.state as 'building' | 'stopping') : 'idle';
    const currentJobs = held.get(r.name) ?? [];
    return {
      name: r.name,
      arch: r.arch,
      dist: r.dist,
      format: r.format,
      suites: jsonArray(r.suites, isString),
      backend: r.backend,
      slots: r.slots,
      state: online ? reported : 'offline',
      online,
      currentJobs,
      currentJob: currentJobs[0] ?? null,
      reportedJobs: jsonArray(r.current_jobs, isInt),
      version: r.version,
      firstSeen: fromDbTime(r.first_seen).toISOString(),
      lastSeen: fromDbTime(r.last_seen).toISOString(),
    };
  });
}
