// Small building blocks shared by the screens.
import { cloneElement, isValidElement, useEffect, useId, useRef, useState, type ReactElement, type ReactNode } from 'react';
import { ApiError } from '../lib/http';

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.status ? `${e.message} (HTTP ${e.status})` : e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A readable error placed beside the control that caused it. */
export function ErrorNote({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  return (
    <span className="error" role="alert" id={id}>
      {errorText(error)}
    </span>
  );
}

export function StatusBadge({ status }: { status: string | null | undefined }) {
  const s = status ?? 'Unknown';
  return <span className={`badge status-${s.toLowerCase()}`}>{s}</span>;
}

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={d.toLocaleString()}>
      {d.toLocaleString()}
    </time>
  );
}

/** Runs an async action and keeps its pending state and error for display beside its button. */
export function useAction<A extends unknown[]>(fn: (...args: A) => Promise<unknown>, onDone?: () => void) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async (...args: A): Promise<boolean> => {
    setPending(true);
    setError(null);
    setDone(null);
    try {
      await fn(...args);
      onDone?.();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setPending(false);
    }
  };
  return { run, pending, error, setError, done, setDone };
}

/** A button that asks for confirmation in a modal dialog before acting. */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  danger,
  disabled,
}: {
  label: ReactNode;
  question: ReactNode;
  confirmLabel: string;
  onConfirm: () => void | Promise<unknown>;
  danger?: boolean;
  disabled?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  return (
    <>
      <button type="button" className={danger ? 'danger' : ''} disabled={disabled} onClick={() => ref.current?.showModal()}>
        {label}
      </button>
      <dialog ref={ref} aria-labelledby={titleId}>
        <p id={titleId}>{question}</p>
        <div className="row">
          <button type="button" autoFocus onClick={() => ref.current?.close()}>
            Keep
          </button>
          <button
            type="button"
            className={danger ? 'danger' : 'primary'}
            onClick={() => {
              ref.current?.close();
              void onConfirm();
            }}
          >
            {confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

/** A labelled form field with its own error beside it (the label names only the control). */
export function Field({ label, error, children, hint }: { label: string; error?: string | null; children: ReactElement<{ id?: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }>; hint?: ReactNode }) {
  const id = useId();
  const errId = `${id}-err`;
  const control = isValidElement(children)
    ? cloneElement(children, { id: children.props.id ?? id, 'aria-describedby': error ? errId : undefined, 'aria-invalid': error ? true : undefined })
    : children;
  return (
    <div className="field">
      <label className="label" htmlFor={children.props.id ?? id}>
        {label}
      </label>
      {control}
      {hint ? <span className="hint">{hint}</span> : null}
      {error ? (
        <span className="error" role="alert" id={errId}>
          {error}
        </span>
      ) : null}
    </div>
  );
}

/** Client-side pages over a small list (lookups, packages). */
export function usePaged<T>(rows: T[], size: number) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(rows.length / size));
  useEffect(() => {
    if (page >= pages) setPage(pages - 1);
  }, [page, pages]);
  const slice = rows.slice(page * size, page * size + size);
  const pager =
    pages > 1 ? (
      <nav className="pager" aria-label="pages">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Prev
        </button>
        <span>
          {page + 1}/{pages}
        </span>
        <button type="button" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
          Next
        </button>
      </nav>
    ) : null;
  return { slice, pager };
}

/** Ticks every `ms` so that ages re-render; a display clock, not a data poll. */
export function useNow(ms = 10_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
