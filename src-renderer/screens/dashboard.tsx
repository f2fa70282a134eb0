// Dashboard: counts by status, unfinished jobs with the reason each waits, workers, and a chart
// of queue depth and build duration over the last hours (the controller's aggregate over every
// job, refreshed on job events rather than by polling).
import { useEffect, useRef, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { STATUSES, UNFINISHED_STATUSES } from '@shared/statuses';
import type { JobSummary } from '@shared/api';
import { useApi } from '../lib/context';
import { queueOf, useStats, useWorkers } from '../lib/queries';
import type { WorkerRow } from '../lib/api';
import { ErrorNote, StatusBadge, age, useNow } from '../components/common';
import { ActivityChart } from '../components/activity-chart';
import { fetchActivity } from '../lib/activity-api';
import { useServerEvent } from '../lib/events';

const WINDOWS = [
  { hours: 1, label: '1 hour' },
  { hours: 6, label: '6 hours' },
  { hours: 12, label: '12 hours' },
  { hours: 24, label: '24 hours' },
  { hours: 168, label: '7 days' },
];
/** At most one refetch of the aggregate per this long, however many job events arrive. */
const ACTIVITY_THROTTLE_MS = 5_000;

/** The activity aggregate, refetched after job events (throttled) and when a new bucket begins. */
function useActivity(hours: number, now: number) {
  const api = useApi();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['activity', hours],
    queryFn: ({ signal }) => fetchActivity(api.http, hours, undefined, signal),
    staleTime: Infinity,
  });
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useServerEvent((e) => {
    if (e.type !== 'job.created' && e.type !== 'job.status' && e.type !== 'job.deleted') return;
    if (timer.current) return;
    const wait = Math.max(0, last.current + ACTIVITY_THROTTLE_MS - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      void qc.invalidateQueries({ queryKey: ['activity'] });
    }, wait);
  });
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  // The window moves on when the last bucket ends, even on a quiet farm.
  const to = q.data ? Date.parse(q.data.to) : Infinity;
  useEffect(() => {
    if (now >= to) void qc.invalidateQueries({ queryKey: ['activity', hours] });
  }, [now, to, hours, qc]);
  return q;
}

/** The pyBit queues a worker consumes: `<dist>_<arch>_<suite>_<format>` for each of its suites. */
export function workerQueues(w: WorkerRow): string[] {
  if (Array.isArray(w.queues)) return w.queues.map(String);
  if (!w.arch || !Array.isArray(w.suites)) return [];
  return w.suites.map((s) => `${w.dist ?? 'Debian'}_${w.arch}_${s}_${w.format ?? 'deb'}`);
}

export function workerOnline(w: WorkerRow): boolean {
  return w.online !== false && w.state !== 'offline';
}

export function workerBusy(w: WorkerRow): boolean {
  const slots = typeof w.slots === 'number' ? w.slots : 1;
  const jobs = Array.isArray(w.currentJobs) ? w.currentJobs.length : w.currentJob != null ? 1 : 0;
  return jobs >= slots || w.state === 'building' && jobs === 0 && slots <= 1;
}

/** Why a job has not started, in words. */
export function whyNotStarting(job: JobSummary, workers: WorkerRow[] | null | undefined): string {
  if (job.status === 'Blocked') {
    const deps = job.resultDetails ? `: ${job.resultDetails}` : '';
    return `blocked on missing build dependencies${deps}${job.result ? ` (${job.result})` : ''}`;
  }
  if (job.status === 'Failed') return `failed${job.result ? ` (${job.result})` : ''}; retry it to build again`;
  if (job.status !== 'Waiting') return '';
  if (workers == null) return 'waiting for a worker';
  const q = queueOf(job);
  const serving = workers.filter((w) => workerQueues(w).includes(q));
  if (workers.length === 0) return 'no worker has connected';
  if (serving.length === 0) return `no worker consumes queue ${q}`;
  const online = serving.filter(workerOnline);
  if (online.length === 0) return `the worker(s) for ${q} are offline: ${serving.map((w) => w.name).join(', ')}`;
  const idle = online.filter((w) => !workerBusy(w));
  if (idle.length === 0) return `all ${online.length} worker(s) for ${q} are busy`;
  return `${idle.length} idle worker(s) for ${q}; should start soon`;
}

export function DashboardScreen() {
  const api = useApi();
  const now = useNow();
  const stats = useStats();
  const workers = useWorkers();
  const unfinished = useQuery({
    queryKey: ['jobs', 'unfinished'],
    queryFn: ({ signal }) => api.listJobs({ status: [...UNFINISHED_STATUSES], limit: 100 }, signal),
  });
  const [hours, setHours] = useState(12);
  const activity = useActivity(hours, now);
  const counts = stats.data?.counts ?? {};
  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">Dashboard</h1>
      <ErrorNote error={stats.error} />
      <ul className="counts" aria-label="jobs by status">
        {STATUSES.map((s) => (
          <li key={s} className={`count status-${s.toLowerCase()}`}>
            <Link to={`/ui/jobs?status=${s}`}>
              <span className="n" data-testid={`count-${s}`}>
                {counts[s] ?? 0}
              </span>
              <span>{s}</span>
            </Link>
          </li>
        ))}
        <li className="count">
          <Link to="/ui/jobs">
            <span className="n" data-testid="count-total">
              {stats.data?.total ?? 0}
            </span>
            <span>All</span>
          </Link>
        </li>
      </ul>
      {stats.data?.oldestWaitingSince ? (
        <p className="muted">Oldest waiting job has waited {age(stats.data.oldestWaitingSince, now)}.</p>
      ) : null}

      <div className="grid2">
        <div>
          <h2>Queues</h2>
          {stats.data && stats.data.queues.length === 0 ? <p className="muted">No waiting jobs.</p> : null}
          <table className="compact">
            <thead>
              <tr>
                <th>Queue</th>
                <th>Waiting</th>
                <th>Workers</th>
              </tr>
            </thead>
            <tbody>
              {stats.data?.queues.map((q) => {
                const n = workers.data?.filter((w) => workerQueues(w).includes(q.queue)).length;
                return (
                  <tr key={q.queue}>
                    <td>{q.queue}</td>
                    <td>{q.depth}</td>
                    <td className={n === 0 ? 'warn' : ''}>{n ?? '?'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <div>
          <div className="row">
            <h2 id="activity-title">Activity</h2>
            <label>
              over the last{' '}
              <select aria-label="activity window" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
                {WINDOWS.map((w) => (
                  <option key={w.hours} value={w.hours}>
                    {w.label}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <ErrorNote error={activity.error} />
          {activity.data ? <ActivityChart data={activity.data} /> : activity.isPending ? <p className="muted">Loading activity…</p> : null}
        </div>
      </div>

      <h2>Unfinished jobs</h2>
      <ErrorNote error={unfinished.error} />
      <table className="jobs" data-testid="unfinished-jobs">
        <thead>
          <tr>
            <th>ID</th>
            <th>Package</th>
            <th>Version</th>
            <th>Arch</th>
            <th>Dist/suite/env</th>
            <th>Worker</th>
            <th>Master</th>
            <th>Status</th>
            <th>Age</th>
            <th>Why not started</th>
          </tr>
        </thead>
        <tbody>
          {unfinished.data?.items.map((j) => (
            <tr key={j.id} className={`row-${j.status.toLowerCase()}`}>
              <td>
                <Link to={`/ui/jobs/${j.id}`}>{j.id}</Link>
              </td>
              <td>{j.package}</td>
              <td>{j.version}</td>
              <td>{j.arch}</td>
              <td>
                {j.dist}/{j.suite}/{j.environment ?? '—'}
              </td>
              <td>{j.client ?? <span className="muted">Unassigned</span>}</td>
              <td>{j.master ? '✔' : ''}</td>
              <td>
                <StatusBadge status={j.status} />
              </td>
              <td>{age(j.createdAt, now)}</td>
              <td className="why">{whyNotStarting(j, workers.data)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {unfinished.data && unfinished.data.total > unfinished.data.items.length ? (
        <p>
          <Link to={`/ui/jobs?status=${UNFINISHED_STATUSES.join(',')}`}>All {unfinished.data.total} unfinished jobs</Link>
        </p>
      ) : null}
      {unfinished.data?.items.length === 0 ? <p className="muted">Nothing is waiting or building.</p> : null}

      <h2>Workers</h2>
      <ErrorNote error={workers.error} />
      {workers.data === null ? <p className="muted">This controller does not report workers.</p> : null}
      {workers.data && workers.data.length === 0 ? <p className="muted">No worker has connected yet.</p> : null}
      {workers.data && workers.data.length > 0 ? (
        <table className="compact" data-testid="dashboard-workers">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Current job</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {workers.data.map((w) => (
              <tr key={w.name}>
                <td>{w.name}</td>
                <td>{w.state ?? (workerBusy(w) ? 'building' : 'idle')}</td>
                <td>{w.currentJob ? <Link to={`/ui/jobs/${w.currentJob}`}>{w.currentJob}</Link> : '—'}</td>
                <td>{w.lastSeen ? `${age(w.lastSeen, now)} ago` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
