// One job: its facts, status history, result category and missing dependencies, artifacts and
// the live log.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { isFinished } from '@shared/statuses';
import { useApi } from '../lib/context';
import { ErrorNote, StatusBadge, Time, useAction } from '../components/common';
import { LogViewer } from '../components/log-viewer';

function formatBytes(n: number | undefined): string {
  if (n == null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function JobScreen() {
  const { id: raw } = useParams();
  const id = Number(raw);
  const api = useApi();
  const qc = useQueryClient();
  const job = useQuery({ queryKey: ['job', id], queryFn: ({ signal }) => api.getJob(id, signal), enabled: Number.isInteger(id) && id > 0 });
  const artifacts = useQuery({
    queryKey: ['job', id, 'artifacts'],
    queryFn: async ({ signal }) => {
      try {
        return await api.artifacts(id, signal);
      } catch (e) {
        if ((e as { status?: number }).status === 404) return null;
        throw e;
      }
    },
    enabled: Number.isInteger(id) && id > 0,
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ['job', id] });
  const cancel = useAction(() => api.cancelJob(id), refresh);
  const retry = useAction(() => api.retryJob(id), refresh);

  if (!Number.isInteger(id) || id <= 0) return <p className="error">'{raw}' is not a job id.</p>;
  const j = job.data;
  return (
    <section aria-labelledby="job-title" className="job-screen">
      <h1 id="job-title">
        Job {id} {j ? <StatusBadge status={j.status} /> : null}
      </h1>
      <ErrorNote error={job.error} />
      {j ? (
        <>
          <div className="grid2">
            <dl className="facts">
              <dt>Package</dt>
              <dd>
                {j.package} {j.version} {j.master ? <span title="master architecture">(master)</span> : null}
              </dd>
              <dt>Target</dt>
              <dd>
                {j.dist} / {j.suite} / {j.arch} / {j.format}
                {j.environment ? ` / ${j.environment}` : ''}
              </dd>
              <dt>Worker</dt>
              <dd>{j.client ?? <span className="muted">unassigned</span>}</dd>
              <dt>Source</dt>
              <dd>{j.transport ? `${j.transport.method} ${j.transport.uri} ${j.transport.vcsId}` : '—'}</dd>
              <dt>Result</dt>
              <dd data-testid="job-result">
                {j.result ?? <span className="muted">none yet</span>}
                {j.result === 'DEPFAIL' && j.resultDetails ? (
                  <>
                    {' '}
                    — missing: <code>{j.resultDetails}</code>
                  </>
                ) : j.resultDetails ? (
                  <> — {j.resultDetails}</>
                ) : null}
              </dd>
              <dt>Attempts</dt>
              <dd>{j.attempts}</dd>
              {j.leaseOwner ? (
                <>
                  <dt>Lease</dt>
                  <dd>
                    {j.leaseOwner} until <Time iso={j.leaseExpiresAt} />
                  </dd>
                </>
              ) : null}
              {j.retryAt ? (
                <>
                  <dt>Retry at</dt>
                  <dd>
                    <Time iso={j.retryAt} />
                  </dd>
                </>
              ) : null}
            </dl>
            <div>
              <h2>History</h2>
              <ol className="timeline" data-testid="job-history">
                {j.history.map((h, i) => (
                  <li key={i}>
                    <StatusBadge status={h.status} /> <Time iso={h.time} />
                  </li>
                ))}
              </ol>
              <div className="row">
                {!isFinished(j.status) ? (
                  <button type="button" disabled={cancel.pending} onClick={() => void cancel.run()}>
                    Cancel job
                  </button>
                ) : null}
                <ErrorNote error={cancel.error} />
                {['Failed', 'Cancelled', 'Blocked'].includes(j.status) ? (
                  <button type="button" disabled={retry.pending} onClick={() => void retry.run()}>
                    Retry
                  </button>
                ) : null}
                <ErrorNote error={retry.error} />
              </div>
            </div>
          </div>
          <h2>Artifacts</h2>
          <ErrorNote error={artifacts.error} />
          {artifacts.data === null ? <p className="muted">This controller does not keep artifacts.</p> : null}
          {artifacts.data && artifacts.data.length === 0 ? <p className="muted">No artifacts{isFinished(j.status) ? '' : ' yet'}.</p> : null}
          {artifacts.data && artifacts.data.length > 0 ? (
            <table className="compact" data-testid="artifacts">
              <thead>
                <tr>
                  <th>File</th>
                  <th>Size</th>
                  <th>SHA-256</th>
                </tr>
              </thead>
              <tbody>
                {artifacts.data.map((a) => (
                  <tr key={a.name}>
                    <td>{a.url ? <a href={api.fileUrl(a.url)} download={a.name}>{a.name}</a> : a.name}</td>
                    <td>{formatBytes(a.size)}</td>
                    <td>
                      <code className="hash" title={a.sha1 ? `SHA-1 ${a.sha1}` : undefined}>
                        {a.sha256 ?? a.sha1 ?? ''}
                      </code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      ) : null}
      {/* Mounted with the page, not after the job's facts arrive, so the log's range requests run
          alongside the job's own instead of after it. */}
      {job.error ? null : (
        <>
          <h2>Log</h2>
          <LogViewer jobId={id} live={j?.status === 'Building'} />
        </>
      )}
      <p>
        <Link to="/ui/jobs">← all jobs</Link>
      </p>
    </section>
  );
}
