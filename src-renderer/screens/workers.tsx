// Workers (Buildbox workers and launchpad-buildd builders as /api/v1/workers reports them) and
// pyBit build clients (/buildd), with liveness, their jobs, registration and deletion.
import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { useApi } from '../lib/context';
import { useBuildClients, useWorkers } from '../lib/queries';
import { ErrorNote, Field, age, errorText, useAction, useNow } from '../components/common';
import { workerBusy, workerQueues } from './dashboard';
import { BuildersSection } from './builders';

export function WorkersScreen() {
  const api = useApi();
  const qc = useQueryClient();
  const now = useNow();
  const workers = useWorkers();
  const clients = useBuildClients();
  const liveness = useQuery({
    queryKey: ['workers', 'buildd-status', clients.data?.map((c) => c.name)],
    queryFn: async ({ signal }) => {
      const names = clients.data ?? [];
      const flags = await Promise.all(names.map((c) => api.buildClientActive(c.name, signal).catch(() => false)));
      return new Map(names.map((c, i) => [c.id, flags[i]!]));
    },
    enabled: (clients.data?.length ?? 0) > 0,
  });
  const [rowErrors, setRowErrors] = useState<Record<number, string>>({});
  const [nameErr, setNameErr] = useState<string | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: ['buildclients'] });
  const add = useAction(async (name: string) => {
    await api.createBuildClient(name);
    add.setDone(`Registered ${name}.`);
  }, refresh);
  const onAdd = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get('name') ?? '').trim();
    if (!name || name === 'build_client_') {
      setNameErr('give the build client a name');
      return;
    }
    setNameErr(null);
    void add.run(name);
  };
  const del = async (id: number) => {
    setRowErrors(({ [id]: _, ...r }) => r);
    try {
      await api.deleteRow('buildd', id);
      refresh();
    } catch (e) {
      setRowErrors((r) => ({ ...r, [id]: errorText(e) }));
    }
  };
  return (
    <section aria-labelledby="wk-title">
      <h1 id="wk-title">Workers and builders</h1>
      <h2>Workers</h2>
      <ErrorNote error={workers.error} />
      {workers.data === null ? <p className="muted">This controller does not report workers (no /api/v1/workers).</p> : null}
      {workers.data && workers.data.length === 0 ? <p className="muted">No worker has connected yet.</p> : null}
      {workers.data && workers.data.length > 0 ? (
        <table className="compact" data-testid="workers">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>State</th>
              <th>Current job</th>
              <th>Last heartbeat</th>
              <th>Queues / arch</th>
              <th>Notes</th>
            </tr>
          </thead>
          <tbody>
            {workers.data.map((w) => (
              <tr key={w.name}>
                <td>
                  <Link to={`/ui/jobs?client=${encodeURIComponent(w.name)}`}>{w.name}</Link>
                </td>
                <td>{w.kind ?? w.backend ?? 'worker'}</td>
                <td>{w.state ?? (workerBusy(w) ? 'building' : 'idle')}</td>
                <td>{w.currentJob ? <Link to={`/ui/jobs/${w.currentJob}`}>{w.currentJob}</Link> : '—'}</td>
                <td>{w.lastSeen ? `${age(w.lastSeen, now)} ago` : '—'}</td>
                <td>{[...workerQueues(w), w.arch].filter(Boolean).join(', ')}</td>
                <td>
                  {w.url ? <span>{String(w.url)} </span> : null}
                  {w.enabled === false ? 'disabled ' : ''}
                  {w.manual ? 'manual ' : ''}
                  {w.failureNotes ?? ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}

      <BuildersSection />

      <h2>pyBit build clients</h2>
      <form className="form inline" onSubmit={onAdd} aria-label="register a build client" noValidate>
        <Field label="Name" error={nameErr}>
          <input name="name" defaultValue="build_client_" />
        </Field>
        <button type="submit" className="primary" disabled={add.pending}>
          Register
        </button>
        <ErrorNote error={add.error} />
        {add.done ? <span className="ok">{add.done}</span> : null}
      </form>
      <ErrorNote error={clients.error} />
      <table className="compact" data-testid="build-clients">
        <thead>
          <tr>
            <th>ID</th>
            <th>Name</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {clients.data?.map((c) => {
            const active = liveness.data?.get(c.id);
            return (
              <tr key={c.id} className={active ? 'row-building' : active === false ? 'row-failed' : ''}>
                <td>{c.id}</td>
                <td>{c.name}</td>
                <td>{active == null ? '…' : active ? 'Active' : 'Not Active'}</td>
                <td>
                  <Link to={`/ui/jobs?client=${encodeURIComponent(c.name)}`}>View jobs</Link>{' '}
                  {active === false ? (
                    <button type="button" className="small" onClick={() => void del(c.id)}>
                      Delete
                    </button>
                  ) : null}
                  {rowErrors[c.id] ? <span className="error" role="alert">{rowErrors[c.id]}</span> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
