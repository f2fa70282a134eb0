// Launchpad-style builders (/api/v1/builders): the launchpad-buildd machines the controller's
// buildd-manager drives. Register, toggle manual/enabled, keep failure notes, delete. Forms are
// checked with the server's own schemas; each row's errors show in that row.
import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { BuilderCreate, BuilderPatch, type BuilderInfo } from '@shared/builders-api';
import { useApi } from '../lib/context';
import { useLookups } from '../lib/queries';
import { ConfirmButton, ErrorNote, Field, age, useAction, useNow } from '../components/common';

type Errors = Record<string, string>;

export function useBuilders() {
  const api = useApi();
  return useQuery({
    queryKey: ['builders'],
    queryFn: async ({ signal }) => {
      try {
        return await api.builders(signal);
      } catch (e) {
        // A controller without the builders API (an older one, or a pyBit server) has none.
        if ((e as { status?: number }).status === 404) return null;
        throw e;
      }
    },
  });
}

function builderState(b: BuilderInfo): string {
  if (!b.enabled) return 'disabled';
  if (b.currentJob) return 'building';
  if (b.lastStatus) return b.lastStatus.replace(/^BuilderStatus\./, '').toLowerCase();
  return b.lastSeen ? 'idle' : 'not contacted yet';
}

export function BuildersSection() {
  const api = useApi();
  const qc = useQueryClient();
  const builders = useBuilders();
  const lookups = useLookups();
  const [errors, setErrors] = useState<Errors>({});
  const refresh = () => void qc.invalidateQueries({ queryKey: ['builders'] });
  const register = useAction(async (body: BuilderCreate) => {
    const b = await api.registerBuilder(body);
    register.setDone(`Registered ${b.name}.`);
  }, refresh);

  const onRegister = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const fd = new FormData(form);
    const get = (k: string) => String(fd.get(k) ?? '').trim();
    const check = BuilderCreate.safeParse({
      name: get('name'),
      url: get('url'),
      arch: get('arch'),
      virtualised: fd.get('virtualised') === 'on',
      manual: fd.get('manual') === 'on',
    });
    if (!check.success) {
      const errs: Errors = {};
      for (const i of check.error.issues) errs[String(i.path[0] ?? 'form')] ??= i.message;
      setErrors(errs);
      return;
    }
    setErrors({});
    void register.run(check.data).then((ok) => ok && form.reset());
  };

  return (
    <>
      <h2>Launchpad builders</h2>
      <p className="muted">launchpad-buildd machines this controller dispatches to over XML-RPC. Manual builders take no automatic dispatch; disabled ones take nothing.</p>
      <form className="form inline" onSubmit={onRegister} aria-label="register a builder" noValidate>
        <Field label="Builder name" error={errors.name}>
          <input name="name" />
        </Field>
        <Field label="Builder URL" error={errors.url}>
          <input name="url" placeholder="http://builder.example:8221" />
        </Field>
        <Field label="Builder arch" error={errors.arch}>
          <input name="arch" list="builder-arches" placeholder="amd64" />
        </Field>
        <datalist id="builder-arches">
          {lookups.data?.arches.map((a) => <option key={a.id} value={a.name} />)}
        </datalist>
        <label className="check">
          <input type="checkbox" name="virtualised" /> virtualised
        </label>
        <label className="check">
          <input type="checkbox" name="manual" /> manual
        </label>
        <button type="submit" className="primary" disabled={register.pending}>
          Register builder
        </button>
        <ErrorNote error={register.error} />
        {register.done ? <span className="ok">{register.done}</span> : null}
      </form>
      <ErrorNote error={builders.error} />
      {builders.data === null ? <p className="muted">This controller does not drive Launchpad builders (no /api/v1/builders).</p> : null}
      {builders.data && builders.data.length === 0 ? <p className="muted">No builder registered.</p> : null}
      {builders.data && builders.data.length > 0 ? (
        <table className="compact" data-testid="builders">
          <thead>
            <tr>
              <th>Name</th>
              <th>URL</th>
              <th>Arch</th>
              <th>State</th>
              <th>Current job</th>
              <th>Manual</th>
              <th>Enabled</th>
              <th>Failure notes</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {builders.data.map((b) => (
              <BuilderRow key={b.id} b={b} onChanged={refresh} />
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

function BuilderRow({ b, onChanged }: { b: BuilderInfo; onChanged: () => void }) {
  const api = useApi();
  const qc = useQueryClient();
  const now = useNow();
  const [notes, setNotes] = useState<string | null>(null);
  // The toggles show the new state at once; it reverts (with the error beside it) if refused.
  const [shown, setShown] = useState<{ manual?: boolean; enabled?: boolean }>({});
  const patch = useAction(async (p: BuilderPatch) => {
    const check = BuilderPatch.safeParse(p);
    if (!check.success) throw new Error(check.error.issues.map((i) => `${i.path.join('.') || 'builder'}: ${i.message}`).join('; '));
    const updated = await api.patchBuilder(b.name, check.data);
    // Show the server's answer at once; the list refetch confirms it.
    qc.setQueryData<BuilderInfo[] | null>(['builders'], (old) => old?.map((x) => (x.id === updated.id ? updated : x)) ?? old);
  }, onChanged);
  const toggle = (p: { manual: boolean } | { enabled: boolean }) => {
    setShown(p);
    void patch.run(p).finally(() => setShown({}));
  };
  const del = useAction(() => api.deleteBuilder(b.name), onChanged);
  const notesValue = notes ?? b.failureNotes ?? '';
  return (
    <tr data-testid={`builder-${b.name}`} className={!b.enabled ? 'row-failed' : b.currentJob ? 'row-building' : ''}>
      <td>{b.name}</td>
      <td>{b.url}</td>
      <td>
        {b.arch}
        {b.virtualised ? <span className="muted"> (virtualised)</span> : null}
      </td>
      <td>
        {builderState(b)}
        {b.cleanStatus && b.cleanStatus !== 'CLEAN' ? <span className="muted"> · {b.cleanStatus.toLowerCase()}</span> : null}
        {b.failureCount > 0 ? <span className="error"> · {b.failureCount} failure{b.failureCount === 1 ? '' : 's'}</span> : null}
        {b.lastSeen ? <span className="muted"> · seen {age(b.lastSeen, now)} ago</span> : null}
      </td>
      <td>{b.currentJob ? <Link to={`/ui/jobs/${b.currentJob.jobId}`}>{b.currentJob.jobId}</Link> : '—'}</td>
      <td>
        <input type="checkbox" aria-label={`manual ${b.name}`} checked={shown.manual ?? b.manual} disabled={patch.pending} onChange={(e) => toggle({ manual: e.target.checked })} />
      </td>
      <td>
        <input type="checkbox" aria-label={`enabled ${b.name}`} checked={shown.enabled ?? b.enabled} disabled={patch.pending} onChange={(e) => toggle({ enabled: e.target.checked })} />
      </td>
      <td>
        <form
          className="row"
          aria-label={`failure notes of ${b.name}`}
          onSubmit={(e) => {
            e.preventDefault();
            void patch.run({ failureNotes: notesValue.trim() === '' ? null : notesValue }).then((ok) => ok && setNotes(null));
          }}
        >
          <input aria-label={`failure notes ${b.name}`} value={notesValue} onChange={(e) => setNotes(e.target.value)} placeholder="why it is disabled" />
          <button type="submit" className="small" disabled={patch.pending || notes === null}>
            Save
          </button>
        </form>
      </td>
      <td>
        <ConfirmButton label="Delete" question={`Delete builder ${b.name}?`} confirmLabel="Delete builder" danger onConfirm={() => del.run()} />
        <ErrorNote error={patch.error ?? del.error} />
      </td>
    </tr>
  );
}
