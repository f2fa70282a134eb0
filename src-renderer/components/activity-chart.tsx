// Queue depth and mean build duration per hour, drawn in plain SVG from the most recent jobs.
// Depth at an hour's end counts jobs created by then that had not finished by then (a finished
// job's last update is its finish time); duration is the mean creation-to-finish time of the jobs
// that finished in that hour.
import type { JobSummary } from '@shared/api';
import { isFinished } from '@shared/statuses';

interface Bucket {
  start: number;
  depth: number;
  finished: number;
  meanMinutes: number | null;
}

export function buckets(jobs: JobSummary[], now: number, hours: number): Bucket[] {
  const hour = 3600_000;
  const end = Math.ceil(now / hour) * hour;
  const out: Bucket[] = [];
  for (let i = hours - 1; i >= 0; i--) {
    const start = end - (i + 1) * hour;
    const stop = start + hour;
    let depth = 0;
    let finished = 0;
    let total = 0;
    for (const j of jobs) {
      const created = Date.parse(j.createdAt);
      const done = isFinished(j.status) ? Date.parse(j.updatedAt) : Infinity;
      if (created < stop && done >= Math.min(stop, now)) depth++;
      if (done >= start && done < stop) {
        finished++;
        total += done - created;
      }
    }
    out.push({ start, depth, finished, meanMinutes: finished ? total / finished / 60_000 : null });
  }
  return out;
}

export function ActivityChart({ jobs, now, hours }: { jobs: JobSummary[]; now: number; hours: number }) {
  const data = buckets(jobs, now, hours);
  const W = 520;
  const H = 160;
  const pad = { l: 34, r: 34, t: 10, b: 22 };
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const maxDepth = Math.max(1, ...data.map((b) => b.depth));
  const maxMin = Math.max(1, ...data.map((b) => b.meanMinutes ?? 0));
  const bw = iw / data.length;
  const line = data
    .map((b, i) => (b.meanMinutes == null ? null : `${pad.l + i * bw + bw / 2},${pad.t + ih - (b.meanMinutes / maxMin) * ih}`))
    .filter(Boolean)
    .join(' ');
  const label = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Queue depth and build duration per hour over the last ${hours} hours`}>
        <line x1={pad.l} y1={pad.t + ih} x2={pad.l + iw} y2={pad.t + ih} className="axis" />
        <text x={pad.l - 4} y={pad.t + 8} textAnchor="end" className="tick">
          {maxDepth}
        </text>
        <text x={pad.l - 4} y={pad.t + ih} textAnchor="end" className="tick">
          0
        </text>
        <text x={pad.l + iw + 4} y={pad.t + 8} className="tick">
          {maxMin.toFixed(maxMin < 10 ? 1 : 0)}m
        </text>
        {data.map((b, i) => (
          <rect key={b.start} x={pad.l + i * bw + 2} width={Math.max(1, bw - 4)} y={pad.t + ih - (b.depth / maxDepth) * ih} height={(b.depth / maxDepth) * ih} className="bar">
            <title>{`${label(b.start)}: ${b.depth} queued or building, ${b.finished} finished${b.meanMinutes != null ? `, mean ${b.meanMinutes.toFixed(1)} min` : ''}`}</title>
          </rect>
        ))}
        {line ? <polyline points={line} className="line" fill="none" /> : null}
        {data.map((b, i) =>
          i % 3 === 0 ? (
            <text key={`t${b.start}`} x={pad.l + i * bw + bw / 2} y={H - 6} textAnchor="middle" className="tick">
              {label(b.start)}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption>
        <span className="legend bar" /> unfinished jobs among the latest {jobs.length} (left axis) <span className="legend line" /> mean build time (right axis)
      </figcaption>
    </figure>
  );
}
