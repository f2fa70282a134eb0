// Jobs: filters (kept in the URL), a virtualised list that loads further pages by cursor as it
// scrolls, so 100,000 jobs cost one page at a time; cancel, retry, bulk cancel and cancel-all.
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useInfiniteQuery, usePrefetchInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { Link, useSearchParams } from 'react-router-dom';
import { STATUSES, isFinished, type StatusName } from '@shared/statuses';
import { JobListQuery, type JobListParams, type JobListResponse, type JobSummary } from '@shared/api';
import { useApi } from '../lib/context';
import { useLookups } from '../lib/queries';
import { ConfirmButton, ErrorNote, StatusBadge, age, errorText, useAction, useNow } from '../components/common';

const PAGE = 200;
const ROW_HEIGHT = 34;
const TEXT_FILTERS = ['package', 'arch', 'suite', 'client', 'q'] as const;

function paramsFrom(sp: URLSearchParams): JobListParams {
  const p: JobListParams = {};
  const status = sp.get('status');
  if (status) p.status = status.split(',').filter((s): s is StatusName => (STATUSES as readonly string[]).includes(s));
  for (const k of TEXT_FILTERS) {
    const v = sp.get(k);
    if (v) p[k] = v;
  }
  return p;
}

export function JobsScreen() {
  const api = useApi();
  const qc = useQueryClient();
  const now = useNow();
  const [sp, setSp] = useSearchParams();
  const filter = useMemo(() => paramsFrom(sp), [sp]);
  const lookups = useLookups();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [rowErrors, setRowErrors] = useState<Record<number, string>>({});
  const [filterError, setFilterError] = useState<string | null>(null);

  const listQuery = {
    queryKey: ['jobs', 'list', filter],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }: { pageParam: string | undefined; signal: AbortSignal }) =>
      api.listJobs({ ...filter, limit: PAGE, cursor: pageParam, counts: !pageParam }, signal),
    getNextPageParam: (last: JobListResponse) => last.nextCursor ?? undefined,
  };
  // Starts the first page's request while this screen renders, not after its first paint (when
  // the query's own effect would).
  usePrefetchInfiniteQuery(listQuery);
  const jobs = useInfiniteQuery(listQuery);
  const rows: JobSummary[] = useMemo(() => jobs.data?.pages.flatMap((p) => p.items) ?? [], [jobs.data]);
  const first = jobs.data?.pages[0];
  const total = first?.total ?? 0;

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: jobs.hasNextPage ? rows.length + 1 : rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtual.getVirtualItems();
  const lastIndex = items.length ? items[items.length - 1]!.index : -1;
  useEffect(() => {
    if (lastIndex >= rows.length - 1 && jobs.hasNextPage && !jobs.isFetchingNextPage) void jobs.fetchNextPage();
  }, [lastIndex, rows.length, jobs]);

  useEffect(() => setSelected(new Set()), [filter]);

  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['jobs'] });
    void qc.invalidateQueries({ queryKey: ['stats'] });
  };
  const rowAction = async (id: number, fn: () => Promise<unknown>) => {
    setRowErrors(({ [id]: _, ...rest }) => rest);
    try {
      await fn();
      refresh();
    } catch (e) {
      setRowErrors((r) => ({ ...r, [id]: errorText(e) }));
    }
  };
  const bulk = useAction(async () => {
    const r = await api.cancelJobs([...selected]);
    setSelected(new Set());
    bulk.setDone(`Cancelled ${r.cancelled.length}, asked ${r.cancelRequested.length} to stop, skipped ${r.skipped.length}.`);
  }, refresh);
  const all = useAction(async () => {
    const r = await api.cancelAll();
    all.setDone(`Cancelled ${r.cancelled.length} jobs; asked ${r.cancelRequested.length} building jobs to stop.`);
  }, refresh);

  const setFilter = (next: Record<string, string | undefined>) => {
    const n = new URLSearchParams(sp);
    for (const [k, v] of Object.entries(next)) {
      if (v) n.set(k, v);
      else n.delete(k);
    }
    setSp(n, { replace: true });
  };
  const toggleStatus = (s: string) => {
    const cur = new Set(filter.status ?? []);
    if (cur.has(s as StatusName)) cur.delete(s as StatusName);
    else cur.add(s as StatusName);
    setFilter({ status: [...cur].join(',') || undefined });
  };
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const next: Record<string, string | undefined> = {};
    for (const k of TEXT_FILTERS) next[k] = String(fd.get(k) ?? '').trim() || undefined;
    // The server's own schema: a bad filter is named here instead of after a round trip.
    const check = JobListQuery.safeParse(Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)));
    if (!check.success) {
      setFilterError(check.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; '));
      return;
    }
    setFilterError(null);
    setFilter(next);
  };

  const allSelectable = rows.filter((r) => !isFinished(r.status));
  return (
    <section aria-labelledby="jobs-title" className="jobs-screen">
      <h1 id="jobs-title">Jobs</h1>
      <div className="status-filter" role="group" aria-label="status filter">
        {STATUSES.map((s) => (
          <button
            key={s}
            type="button"
            aria-pressed={filter.status?.includes(s) ?? false}
            className={`chip status-${s.toLowerCase()}`}
            onClick={() => toggleStatus(s)}
          >
            {s} <span className="n">{first?.counts?.[s] ?? ''}</span>
          </button>
        ))}
      </div>
      <form className="filters" onSubmit={onSubmit} key={sp.toString()} aria-label="job filters">
        <label>
          Package <input name="package" defaultValue={filter.package ?? ''} />
        </label>
        <label>
          Arch
          <select name="arch" defaultValue={filter.arch ?? ''}>
            <option value="">any</option>
            {lookups.data?.arches.map((a) => (
              <option key={a.id}>{a.name}</option>
            ))}
          </select>
        </label>
        <label>
          Suite
          <select name="suite" defaultValue={filter.suite ?? ''}>
            <option value="">any</option>
            {lookups.data?.suites.map((a) => (
              <option key={a.id}>{a.name}</option>
            ))}
          </select>
        </label>
        <label>
          Worker <input name="client" defaultValue={filter.client ?? ''} />
        </label>
        <label>
          Text <input name="q" type="search" defaultValue={filter.q ?? ''} placeholder="package, version, worker" />
        </label>
        <button type="submit" className="primary">
          Filter
        </button>
        <button type="button" onClick={() => setSp(new URLSearchParams(), { replace: true })}>
          Clear
        </button>
        {filterError ? (
          <span className="error" role="alert">
            {filterError}
          </span>
        ) : null}
      </form>

      <div className="toolbar">
        <span data-testid="jobs-total">
          {jobs.isLoading ? 'Loading…' : `${total} job${total === 1 ? '' : 's'}`}
        </span>
        <span className="muted" data-testid="jobs-loaded">
          {rows.length} loaded
        </span>
        <button type="button" disabled={selected.size === 0 || bulk.pending} onClick={() => void bulk.run()}>
          Cancel selected ({selected.size})
        </button>
        <ErrorNote error={bulk.error} />
        {bulk.done ? <span className="ok">{bulk.done}</span> : null}
        <span className="spacer" />
        <ConfirmButton
          danger
          label="Cancel ALL unfinished jobs…"
          question="Cancel every unfinished job (Waiting, Blocked, Building and Failed) on this controller? Building jobs are stopped."
          confirmLabel="Cancel all jobs"
          onConfirm={() => all.run()}
        />
        <ErrorNote error={all.error} />
        {all.done ? <span className="ok">{all.done}</span> : null}
      </div>
      <ErrorNote error={jobs.error} />

      <div className="vtable" role="table" aria-label="jobs" aria-rowcount={total}>
        <div className="vrow head" role="row">
          <span role="columnheader" className="c-sel">
            <input
              type="checkbox"
              aria-label="select all loaded unfinished jobs"
              checked={allSelectable.length > 0 && allSelectable.every((r) => selected.has(r.id))}
              onChange={(e) => setSelected(e.target.checked ? new Set(allSelectable.map((r) => r.id)) : new Set())}
            />
          </span>
          <span role="columnheader" className="c-id">ID</span>
          <span role="columnheader" className="c-pkg">Package</span>
          <span role="columnheader" className="c-ver">Version</span>
          <span role="columnheader" className="c-arch">Arch</span>
          <span role="columnheader" className="c-suite">Dist/suite/env</span>
          <span role="columnheader" className="c-client">Worker</span>
          <span role="columnheader" className="c-status">Status</span>
          <span role="columnheader" className="c-age">Age</span>
          <span role="columnheader" className="c-act">Actions</span>
        </div>
        <div className="vbody" ref={scrollRef} data-testid="jobs-scroll">
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {items.map((vi) => {
              const j = rows[vi.index];
              const style = { position: 'absolute' as const, top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${vi.start}px)` };
              if (!j) {
                return (
                  <div key="loader" className="vrow muted" style={style} role="row">
                    Loading more…
                  </div>
                );
              }
              const finished = isFinished(j.status);
              return (
                <div key={j.id} className={`vrow row-${j.status.toLowerCase()}`} style={style} role="row" aria-rowindex={vi.index + 1} data-job-id={j.id}>
                  <span role="cell" className="c-sel">
                    <input
                      type="checkbox"
                      aria-label={`select job ${j.id}`}
                      disabled={finished}
                      checked={selected.has(j.id)}
                      onChange={(e) => {
                        const n = new Set(selected);
                        if (e.target.checked) n.add(j.id);
                        else n.delete(j.id);
                        setSelected(n);
                      }}
                    />
                  </span>
                  <span role="cell" className="c-id">
                    <Link to={`/ui/jobs/${j.id}`}>{j.id}</Link>
                  </span>
                  <span role="cell" className="c-pkg">
                    {j.package}
                    {j.master ? <span title="master"> ✔</span> : null}
                  </span>
                  <span role="cell" className="c-ver">{j.version}</span>
                  <span role="cell" className="c-arch">{j.arch}</span>
                  <span role="cell" className="c-suite">
                    {j.dist}/{j.suite}/{j.environment ?? '—'}
                  </span>
                  <span role="cell" className="c-client">{j.client ?? ''}</span>
                  <span role="cell" className="c-status">
                    <StatusBadge status={j.status} />
                    {j.result && j.result !== 'OK' ? <span className="muted"> {j.result}</span> : null}
                  </span>
                  <span role="cell" className="c-age">{age(j.createdAt, now)}</span>
                  <span role="cell" className="c-act">
                    {!finished ? (
                      <button type="button" className="small" onClick={() => void rowAction(j.id, () => api.cancelJob(j.id))}>
                        Cancel
                      </button>
                    ) : null}
                    {['Failed', 'Cancelled', 'Blocked'].includes(j.status) ? (
                      <button type="button" className="small" onClick={() => void rowAction(j.id, () => api.retryJob(j.id))}>
                        Retry
                      </button>
                    ) : null}
                    {rowErrors[j.id] ? (
                      <span className="error" role="alert" title={rowErrors[j.id]}>
                        {rowErrors[j.id]}
                      </span>
                    ) : null}
                  </span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
      {!jobs.isLoading && rows.length === 0 ? <p className="muted">No job matches these filters.</p> : null}
    </section>
  );
}
