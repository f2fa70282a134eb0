// Queue depth, finished builds and build duration per bucket, drawn in plain SVG from the
// controller's aggregate over the whole farm (GET /api/v1/stats/activity).
import type { ActivityResponse } from '@shared/activity-api';

// The finished bars need a second colour; the stylesheet defines only the depth bar's.
const FINISHED_FILL = { fill: '#8cc49a' };

const fmtMinutes = (secs: number) => (secs < 600 ? (secs / 60).toFixed(1) : (secs / 60).toFixed(0));

export function ActivityChart({ data }: { data: ActivityResponse }) {
  const b = data.buckets;
  const W = 520;
  const H = 170;
  const pad = { l: 34, r: 38, t: 10, b: 22 };
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const maxCount = Math.max(1, ...b.map((x) => Math.max(x.waitingAtEnd, x.done + x.failed)));
  const maxSecs = Math.max(60, ...b.map((x) => x.meanBuildSeconds ?? 0));
  const bw = iw / Math.max(1, b.length);
  const y = (n: number) => pad.t + ih - (n / maxCount) * ih;
  const line = b
    .map((x, i) => (x.meanBuildSeconds == null ? null : `${pad.l + i * bw + bw / 2},${pad.t + ih - (x.meanBuildSeconds / maxSecs) * ih}`))
    .filter(Boolean)
    .join(' ');
  const long = data.hours > 48;
  const label = (iso: string) =>
    long ? new Date(iso).toLocaleDateString([], { month: 'short', day: 'numeric' }) : new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const every = Math.max(1, Math.ceil(b.length / 8));
  const totals = b.reduce((t, x) => ({ submitted: t.submitted + x.submitted, done: t.done + x.done, failed: t.failed + x.failed }), { submitted: 0, done: 0, failed: 0 });
  return (
    <figure className="chart" data-testid="activity-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Queue depth, finished builds and build duration per ${data.bucketMinutes} minutes over the last ${data.hours} hours`}>
        <line x1={pad.l} y1={pad.t + ih} x2={pad.l + iw} y2={pad.t + ih} className="axis" />
        <text x={pad.l - 4} y={pad.t + 8} textAnchor="end" className="tick">
          {maxCount}
        </text>
        <text x={pad.l - 4} y={pad.t + ih} textAnchor="end" className="tick">
          0
        </text>
        <text x={pad.l + iw + 4} y={pad.t + 8} className="tick">
          {fmtMinutes(maxSecs)}m
        </text>
        {b.map((x, i) => {
          const finished = x.done + x.failed;
          const title = `${label(x.start)}: ${x.waitingAtEnd} waiting at the end, ${x.submitted} submitted, ${x.started} started, ${x.done} done, ${x.failed} failed${
            x.meanBuildSeconds != null ? `, build time mean ${fmtMinutes(x.meanBuildSeconds)} min, max ${fmtMinutes(x.maxBuildSeconds ?? 0)} min` : ''
          }`;
          return (
            <g key={x.start} data-testid="activity-bucket" data-waiting={x.waitingAtEnd} data-finished={finished}>
              <title>{title}</title>
              <rect x={pad.l + i * bw + 1} width={Math.max(1, bw / 2 - 1)} y={y(x.waitingAtEnd)} height={pad.t + ih - y(x.waitingAtEnd)} className="bar" />
              <rect x={pad.l + i * bw + bw / 2} width={Math.max(1, bw / 2 - 1)} y={y(finished)} height={pad.t + ih - y(finished)} className="bar" style={FINISHED_FILL} />
            </g>
          );
        })}
        {line ? <polyline points={line} className="line" fill="none" /> : null}
        {b.map((x, i) =>
          i % every === 0 ? (
            <text key={`t${x.start}`} x={pad.l + i * bw + bw / 2} y={H - 6} textAnchor="middle" className="tick">
              {label(x.start)}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption>
        <span className="legend bar" /> waiting at the end of each {data.bucketMinutes < 60 ? `${data.bucketMinutes} minutes` : `${data.bucketMinutes / 60} h`}{' '}
        <span className="legend" style={{ background: FINISHED_FILL.fill }} /> finished (left axis) <span className="legend line" /> mean build time (right axis).{' '}
        <span data-testid="activity-totals">
          {totals.submitted} submitted, {totals.done} done, {totals.failed} failed in {data.hours} h
        </span>
      </figcaption>
    </figure>
  );
}
