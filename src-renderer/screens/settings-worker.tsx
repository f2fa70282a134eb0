// Settings → the local worker (and, in the desktop app, the connection it keeps).
// In a browser against `buildbox box` the section reads and changes /api/v1/local-worker (the
// state is polled while this screen is open); against `serve` that route is missing and the
// section is left out. In the desktop app it edits the app's own settings through the preload
// bridge (connection, embedded controller, local worker, notifications) and shows the worker
// state the app pushes.
import { useEffect, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  DesktopSettingsSchema,
  type DesktopBridge,
  type DesktopSettings,
  type LoadedSettings,
  type WorkerState,
} from '@shared/desktop-bridge';
import { LOCAL_WORKER_PATH, LocalWorkerPatch, type LocalWorkerConfig, type LocalWorkerInfo } from '@shared/local-worker-api';
import { useApi, useConnection } from '../lib/context';
import { bridge as desktopBridge } from '../lib/connection';
import { ApiError } from '../lib/http';
import { ErrorNote, Field, Time, useAction } from '../components/common';

const BACKENDS: Array<[LocalWorkerConfig['backend'], string]> = [
  ['dpkg', 'dpkg-buildpackage on this host (no isolation)'],
  ['sbuild', 'sbuild in a chroot (needs chroot tarballs)'],
  ['dry-run', 'dry run (logs what it would do; for trying things out)'],
];

const SETTINGS_FUNCTIONS = ['getSettings', 'saveSettings', 'testConnection', 'getWorkerState', 'onWorkerState'] as const;

export function LocalWorkerSection() {
  const { conn } = useConnection();
  if (conn.source !== 'bridge') return <BoxWorkerSection />;
  const b = desktopBridge();
  // A host page that supplies only the connection (an embedding, not the desktop app) has no
  // settings to edit here.
  if (!b || !SETTINGS_FUNCTIONS.every((f) => typeof b[f] === 'function')) return null;
  return <DesktopSettingsSection bridge={b} />;
}

// ---- pieces both faces share ----

/** The form's text for the worker settings (what the inputs hold, before validation). */
interface WorkerDraft {
  enabled: boolean;
  backend: LocalWorkerConfig['backend'];
  suites: string;
  chroots: string;
  slots: string;
}

function toDraft(c: LocalWorkerConfig): WorkerDraft {
  return { enabled: c.enabled, backend: c.backend, suites: c.suites.join(' '), chroots: c.chroots ?? '', slots: String(c.slots) };
}

function fromDraft(d: WorkerDraft): Record<string, unknown> {
  const slots = d.slots.trim();
  return {
    enabled: d.enabled,
    backend: d.backend,
    suites: d.suites.split(/[\s,]+/).filter(Boolean),
    chroots: d.chroots.trim() || null,
    // A non-number stays text so that validation names the field instead of passing NaN.
    slots: /^\d+$/.test(slots) ? Number(slots) : slots,
  };
}

type Errors = Record<string, string>;

/** Zod issues → first message per field, keyed by the path without array indexes (`worker.suites`). */
function issuesByField(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): Errors {
  const out: Errors = {};
  for (const i of issues) {
    const key = i.path.filter((p) => typeof p === 'string').join('.') || 'form';
    const at = i.path.find((p) => typeof p === 'number');
    out[key] ??= at === undefined ? i.message : `item ${Number(at) + 1}: ${i.message}`;
  }
  return out;
}

function WorkerFields({
  draft,
  onChange,
  errors,
  prefix,
  chrootsHint,
}: {
  draft: WorkerDraft;
  onChange: (d: WorkerDraft) => void;
  errors: Errors;
  /** Error keys of these fields start with this (`worker.` in the desktop settings). */
  prefix: string;
  chrootsHint: string;
}) {
  const set = (p: Partial<WorkerDraft>) => onChange({ ...draft, ...p });
  return (
    <fieldset className="field">
      <legend>Local worker</legend>
      <label className="check">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Run the local worker
      </label>
      <Field label="Backend" error={errors[`${prefix}backend`]}>
        <select value={draft.backend} onChange={(e) => set({ backend: e.target.value as WorkerDraft['backend'] })}>
          {BACKENDS.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Suites" error={errors[`${prefix}suites`]} hint="separated by spaces or commas, e.g. “unstable bookworm”">
        <input value={draft.suites} onChange={(e) => set({ suites: e.target.value })} />
      </Field>
      <Field label="Chroot directory" error={errors[`${prefix}chroots`]} hint={chrootsHint}>
        <input value={draft.chroots} onChange={(e) => set({ chroots: e.target.value })} placeholder="default" />
      </Field>
      <Field label="Slots" error={errors[`${prefix}slots`]} hint="builds at a time, 1–64">
        <input value={draft.slots} onChange={(e) => set({ slots: e.target.value })} inputMode="numeric" />
      </Field>
    </fieldset>
  );
}

interface ShownState {
  status: string;
  pid: number | null;
  detail: string;
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  recentOutput: string[];
}

function WorkerStateView({ state }: { state: ShownState }) {
  const exit = state.lastExit;
  return (
    <>
      <dl className="facts" aria-label="local worker state">
        <dt>Status</dt>
        <dd>
          <span className={`badge worker-${state.status}`} data-testid="local-worker-status">
            {state.status}
          </span>{' '}
          <span data-testid="local-worker-detail">{state.detail}</span>
        </dd>
        <dt>Process</dt>
        <dd data-testid="local-worker-pid">{state.pid ? `pid ${state.pid}` : 'none'}</dd>
        <dt>Unexpected exits</dt>
        <dd>{state.restarts}</dd>
        <dt>Last exit</dt>
        <dd>
          {exit ? (
            <>
              {exit.signal ? `killed by ${exit.signal}` : `code ${exit.code}`}, <Time iso={exit.at} />
            </>
          ) : (
            '—'
          )}
        </dd>
      </dl>
      {state.recentOutput.length ? (
        <details>
          <summary>Recent output</summary>
          <pre className="hash" data-testid="local-worker-output">
            {state.recentOutput.join('\n')}
          </pre>
        </details>
      ) : null}
    </>
  );
}

// ---- browser against `buildbox box` ----

/** Polls faster while the worker is changing state. */
function pollMs(info: LocalWorkerInfo | null | undefined): number | false {
  if (info === null) return false;
  const s = info?.state.status;
  return s === 'running' || s === 'disabled' ? 5000 : 1000;
}

function BoxWorkerSection() {
  const api = useApi();
  const { conn } = useConnection();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['local-worker'],
    queryFn: async ({ signal }) => {
      try {
        return await api.http.get<LocalWorkerInfo>(LOCAL_WORKER_PATH, undefined, signal);
      } catch (e) {
        // `serve`: no local worker here.
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }
    },
    refetchInterval: (query) => pollMs(query.state.data),
  });
  const [draft, setDraft] = useState<WorkerDraft | null>(null);
  const [dirty, setDirty] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const info = q.data;
  useEffect(() => {
    if (info && !dirty) setDraft(toDraft(info));
  }, [info, dirty]);
  const save = useAction(async (body: LocalWorkerPatch) => {
    const next = await api.http.json<LocalWorkerInfo>('PUT', LOCAL_WORKER_PATH, { json: body, auth: true });
    qc.setQueryData(['local-worker'], next);
    setDraft(toDraft(next));
    setDirty(false);
    save.setDone(next.enabled ? 'Saved: the worker restarts with these settings.' : 'Saved: the worker is turned off.');
  });

  if (info === null) return null;
  if (q.error && !info) {
    return (
      <>
        <h2>Local worker</h2>
        <ErrorNote error={q.error} />
      </>
    );
  }
  if (!info || !draft) return <p className="muted">Loading the local worker…</p>;

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const check = LocalWorkerPatch.safeParse(fromDraft(draft));
    if (!check.success) {
      setErrors(issuesByField(check.error.issues));
      return;
    }
    setErrors({});
    void save.run(check.data);
  };
  const edit = (d: WorkerDraft) => {
    setDraft(d);
    setDirty(true);
    save.setDone(null);
  };
  const available = info.chrootsAvailable.map((c) => `${c.name}/${c.arch}`).join(', ');
  return (
    <section aria-labelledby="lw-title">
      <h2 id="lw-title">Local worker</h2>
      <p className="muted">
        The worker this box runs beside its controller, shown on the Workers screen as <code>build_client_{info.clientId}</code>.
      </p>
      <WorkerStateView state={info.state} />
      <ErrorNote error={q.error} />
      {info.settingsError ? <p className="note">The saved settings could not be used: {info.settingsError}</p> : null}
      {info.setByFlags.length ? (
        <p className="note">
          Given on this box’s command line: {info.setByFlags.join(', ')}. A change here applies at once and is saved, but those flags win again when the
          box is restarted with them.
        </p>
      ) : null}
      <form className="form" onSubmit={onSubmit} aria-label="local worker settings" noValidate>
        <WorkerFields
          draft={draft}
          onChange={edit}
          errors={errors}
          prefix=""
          chrootsHint={`sbuild chroot tarballs; empty = ${info.chrootsDir}${info.chroots ? '' : ' (default)'}. Found: ${available || 'none'}`}
        />
        {draft.backend === 'sbuild' && !info.chrootsAvailable.length && (draft.chroots.trim() || null) === info.chroots ? (
          <p className="note" data-testid="no-chroots">
            There is no chroot tarball in {info.chrootsDir}: sbuild has nothing to build in. Make one with <code>buildbox chroot create --suite &lt;suite&gt;</code>,
            or choose another backend.
          </p>
        ) : null}
        {errors.form ? (
          <span className="error" role="alert">
            {errors.form}
          </span>
        ) : null}
        <div className="row">
          <button type="submit" className="primary" disabled={save.pending}>
            {save.pending ? 'Applying…' : 'Save and apply'}
          </button>
          {dirty ? (
            <button
              type="button"
              onClick={() => {
                setDirty(false);
                setErrors({});
                setDraft(toDraft(info));
              }}
            >
              Discard changes
            </button>
          ) : null}
          <ErrorNote error={save.error} />
          {save.done ? (
            <span className="ok" role="status">
              {save.done}
            </span>
          ) : null}
        </div>
        {!conn.token ? <p className="muted">Changing the local worker needs an administrator’s credential (log in above).</p> : null}
      </form>
    </section>
  );
}

// ---- desktop app ----

interface DesktopDraft {
  mode: 'embedded' | 'remote';
  remoteUrl: string;
  remoteToken: string;
  amqp: string;
  port: string;
  worker: WorkerDraft;
  notifications: boolean;
  closeToTray: boolean;
}

function toDesktopDraft(s: DesktopSettings): DesktopDraft {
  return {
    mode: s.connection.mode,
    remoteUrl: s.connection.remoteUrl,
    remoteToken: s.connection.remoteToken,
    amqp: s.embedded.amqp ?? '',
    port: String(s.embedded.port),
    worker: toDraft(s.worker),
    notifications: s.notifications,
    closeToTray: s.closeToTray,
  };
}

function fromDesktopDraft(d: DesktopDraft): unknown {
  const port = d.port.trim();
  return {
    connection: { mode: d.mode, remoteUrl: d.remoteUrl, remoteToken: d.remoteToken },
    embedded: { amqp: d.amqp.trim() || null, port: /^\d+$/.test(port) ? Number(port) : port },
    worker: fromDraft(d.worker),
    notifications: d.notifications,
    closeToTray: d.closeToTray,
  };
}

function fromWorkerState(s: WorkerState): ShownState {
  return { status: s.status, pid: s.pid, detail: s.detail, restarts: s.crashes, lastExit: s.lastExit, recentOutput: s.recentOutput };
}

function DesktopSettingsSection({ bridge }: { bridge: DesktopBridge }) {
  const [loaded, setLoaded] = useState<LoadedSettings | null>(null);
  const [draft, setDraft] = useState<DesktopDraft | null>(null);
  const [state, setState] = useState<WorkerState | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [tested, setTested] = useState<{ ok: boolean; text: string } | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    bridge.getSettings().then(
      (l) => {
        if (!live) return;
        setLoaded(l);
        setDraft(toDesktopDraft(l.settings));
      },
      (e: unknown) => live && setLoadError(e),
    );
    bridge.getWorkerState().then(
      (s) => live && setState(s),
      () => undefined,
    );
    const off = bridge.onWorkerState((s) => live && setState(s));
    return () => {
      live = false;
      if (typeof off === 'function') off();
    };
  }, [bridge]);

  const test = useAction(async () => {
    if (!draft) return;
    setTested(null);
    const r = await bridge.testConnection(draft.remoteUrl.trim(), draft.remoteToken.trim());
    setTested(r.ok ? { ok: true, text: r.message } : { ok: false, text: r.error });
  });
  const save = useAction(async (s: DesktopSettings) => {
    const r = await bridge.saveSettings(s);
    if (!r.ok) throw new Error(r.error);
    setLoaded((l) => (l ? { ...l, settings: r.settings, error: null } : l));
    setDraft(toDesktopDraft(r.settings));
    save.setDone('Saved and applied.');
  });

  if (loadError) {
    return (
      <>
        <h2>Desktop app</h2>
        <ErrorNote error={loadError} />
      </>
    );
  }
  if (!loaded || !draft) return <p className="muted">Loading the app settings…</p>;

  const set = (p: Partial<DesktopDraft>) => {
    setDraft({ ...draft, ...p });
    save.setDone(null);
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const check = DesktopSettingsSchema.safeParse(fromDesktopDraft(draft));
    if (!check.success) {
      setErrors(issuesByField(check.error.issues));
      return;
    }
    setErrors({});
    void save.run(check.data);
  };
  const remote = draft.mode === 'remote';
  const errorCount = Object.keys(errors).length;
  return (
    <section aria-labelledby="desk-title">
      <h2 id="desk-title">Desktop app</h2>
      {loaded.error ? <p className="note">The settings file could not be used, so the defaults apply: {loaded.error}</p> : null}
      <h3>Local worker</h3>
      {state ? <WorkerStateView state={fromWorkerState(state)} /> : <p className="muted">No state reported yet.</p>}
      <h3>Settings</h3>
      <form className="form" onSubmit={onSubmit} aria-label="desktop settings" noValidate>
        <fieldset className="field">
          <legend>Controller</legend>
          <label className="check">
            <input type="radio" name="mode" checked={!remote} onChange={() => set({ mode: 'embedded' })} /> Embedded: this app runs the controller
          </label>
          <label className="check">
            <input type="radio" name="mode" checked={remote} onChange={() => set({ mode: 'remote' })} /> Remote controller
          </label>
          <Field label="Remote URL" error={errors['connection.remoteUrl']} hint="e.g. http://buildbox.example:8080">
            <input value={draft.remoteUrl} onChange={(e) => set({ remoteUrl: e.target.value })} disabled={!remote} autoComplete="off" />
          </Field>
          <Field label="Remote token" error={errors['connection.remoteToken']} hint="a user token from `buildbox user token <name>`">
            <input value={draft.remoteToken} onChange={(e) => set({ remoteToken: e.target.value })} disabled={!remote} type="password" autoComplete="off" />
          </Field>
          <div className="row">
            <button type="button" onClick={() => void test.run()} disabled={!remote || test.pending}>
              {test.pending ? 'Testing…' : 'Test remote connection'}
            </button>
            <ErrorNote error={test.error} />
            {tested ? (
              <span className={tested.ok ? 'ok' : 'error'} role={tested.ok ? 'status' : 'alert'} data-testid="remote-test-result">
                {tested.text}
              </span>
            ) : null}
          </div>
        </fieldset>
        <fieldset className="field" disabled={remote}>
          <legend>Embedded controller</legend>
          <Field label="RabbitMQ URL" error={errors['embedded.amqp']} hint="empty: no broker (the local worker is fed in-process; remote workers need a broker)">
            <input value={draft.amqp} onChange={(e) => set({ amqp: e.target.value })} autoComplete="off" />
          </Field>
          <Field label="Port" error={errors['embedded.port']} hint="0 = any free port at every start">
            <input value={draft.port} onChange={(e) => set({ port: e.target.value })} inputMode="numeric" />
          </Field>
        </fieldset>
        <WorkerFields
          draft={draft.worker}
          onChange={(w) => set({ worker: w })}
          errors={errors}
          prefix="worker."
          chrootsHint="sbuild chroot tarballs; empty = the worker’s default (~/.cache/sbuild)"
        />
        {remote && draft.worker.enabled ? <p className="muted">The local worker serves the embedded controller only; with a remote one it stays off.</p> : null}
        <fieldset className="field">
          <legend>App</legend>
          <label className="check">
            <input type="checkbox" checked={draft.notifications} onChange={(e) => set({ notifications: e.target.checked })} /> Notify when a job I submitted finishes
          </label>
          <label className="check">
            <input type="checkbox" checked={draft.closeToTray} onChange={(e) => set({ closeToTray: e.target.checked })} /> Closing the window keeps the app running in the tray
          </label>
        </fieldset>
        {errorCount ? (
          <span className="error" role="alert">
            {errors.form ?? `Fix the ${errorCount === 1 ? 'field' : `${errorCount} fields`} marked above.`}
          </span>
        ) : null}
        <div className="row">
          <button type="submit" className="primary" disabled={save.pending}>
            {save.pending ? 'Applying…' : 'Save and apply'}
          </button>
          <button
            type="button"
            onClick={() => {
              setErrors({});
              setDraft(toDesktopDraft(loaded.settings));
            }}
          >
            Discard changes
          </button>
          <ErrorNote error={save.error} />
          {save.done ? (
            <span className="ok" role="status">
              {save.done}
            </span>
          ) : null}
        </div>
      </form>
    </section>
  );
}
