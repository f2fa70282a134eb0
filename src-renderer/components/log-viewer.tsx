// The build log: fetched by byte range (the tail first, so a 100 MB log opens at once), shown
// in a virtualised list with line numbers, extended upwards or downwards as the user scrolls,
// and followed live: while the tail is loaded, the log's own SSE stream pushes what the worker
// writes (batched to one update per frame); otherwise job.log events on the main event stream
// say how far the log has grown and ranges are fetched as the reader reaches the end.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useApi } from '../lib/context';
import { useServerEvent } from '../lib/events';
import { LOG_RANGE_BYTES } from '../lib/api';
import { ApiError } from '../lib/http';
import { errorText } from './common';

const LINE_HEIGHT = 18;
/** Lines rendered above and below the visible ones. */
const OVERSCAN = 30;

interface LogWindow {
  /** Byte offset of the first loaded byte. */
  start: number;
  /** Byte offset after the last loaded byte. */
  end: number;
  /** Loaded lines; the last one is the text after the last newline (may be ''). */
  lines: string[];
  /** Known size of the whole log. */
  total: number;
}

const EMPTY: LogWindow = { start: 0, end: 0, lines: [''], total: 0 };

/** Skips UTF-8 continuation bytes at the front, so a range that starts mid-character decodes cleanly. */
function skipContinuation(bytes: Uint8Array): number {
  let k = 0;
  while (k < bytes.length && k < 4 && (bytes[k]! & 0xc0) === 0x80) k++;
  return k;
}

/** How many bytes at the end form an incomplete UTF-8 character. */
function incompleteTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

export function LogViewer({ jobId, live }: { jobId: number; live: boolean }) {
  const api = useApi();
  const [win, setWinState] = useState<LogWindow>(EMPTY);
  const winRef = useRef(win);
  // The ref runs ahead of renders, so appends arriving before React re-renders see the latest window.
  const setWin = useCallback((next: LogWindow | ((cur: LogWindow) => LogWindow)) => {
    const w = typeof next === 'function' ? next(winRef.current) : next;
    winRef.current = w;
    setWinState(w);
  }, []);
  /** Bumped whenever the window is replaced (not extended): the live tail restarts from its end. */
  const [generation, setGeneration] = useState(0);
  const streaming = useRef(false);
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [matchIdx, setMatchIdx] = useState(0);
  const busy = useRef(false);
  const again = useRef(false);
  const scrollRef = useRef<HTMLDivElement>(null);
  const decoder = useMemo(() => new TextDecoder(), []);

  const fetchRange = useCallback(
    async (offset: number, length = LOG_RANGE_BYTES) => {
      try {
        const r = await api.logRange(jobId, offset, length);
        setMissing(false);
        return r;
      } catch (e) {
        if (e instanceof ApiError && e.status === 416) return { bytes: new Uint8Array(), offset, total: offset };
        if (e instanceof ApiError && e.status === 404) {
          setMissing(true);
          return null;
        }
        throw e;
      }
    },
    [api, jobId],
  );

  const fetchTail = useCallback(async () => {
    try {
      const r = await api.logTail(jobId, LOG_RANGE_BYTES);
      setMissing(false);
      return r;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        setMissing(true);
        return null;
      }
      throw e;
    }
  }, [api, jobId]);

  /** Loads a fresh window: the tail (or the head when `atTop`). */
  const loadFresh = useCallback(
    async (atTop: boolean) => {
      setError(null);
      try {
        const r = atTop ? await fetchRange(0) : await fetchTail();
        if (!r) return;
        let bytes = r.bytes;
        let start = r.offset;
        const skip = start > 0 ? skipContinuation(bytes) : 0;
        bytes = bytes.subarray(skip);
        start += skip;
        const cut = incompleteTail(bytes);
        const text = decoder.decode(bytes.subarray(0, bytes.length - cut));
        setWin({ start, end: start + bytes.length - cut, lines: text.split('\n'), total: Math.max(r.total, start + bytes.length) });
        setGeneration((g) => g + 1);
      } catch (e) {
        setError(e);
      }
    },
    [decoder, fetchRange, fetchTail, setWin],
  );

  // A layout effect: the first range request leaves before the first paint, not after it.
  useLayoutEffect(() => {
    setWin(EMPTY);
    void loadFresh(false);
  }, [loadFresh, setWin]);

  /** Appends what follows the window, repeating until the known end is reached. */
  const extendDown = useCallback(async () => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    try {
      do {
        again.current = false;
        const w = winRef.current;
        const r = await fetchRange(w.end);
        if (!r || r.bytes.length === 0) break;
        const cut = incompleteTail(r.bytes);
        const text = decoder.decode(r.bytes.subarray(0, r.bytes.length - cut));
        const parts = text.split('\n');
        setWin((cur) => {
          if (cur.end !== r.offset) return cur;
          const lines = cur.lines.slice();
          lines[lines.length - 1] += parts[0]!;
          for (let i = 1; i < parts.length; i++) lines.push(parts[i]!);
          return { ...cur, end: cur.end + r.bytes.length - cut, lines, total: Math.max(r.total, cur.end + r.bytes.length) };
        });
        if (w.end + r.bytes.length - cut < r.total) again.current = true;
      } while (again.current);
    } catch (e) {
      setError(e);
    } finally {
      busy.current = false;
    }
  }, [decoder, fetchRange, setWin]);

  /** Prepends the range before the window. */
  const extendUp = useCallback(async () => {
    const w = winRef.current;
    if (w.start === 0 || busy.current) return;
    busy.current = true;
    try {
      const from = Math.max(0, w.start - LOG_RANGE_BYTES);
      const r = await fetchRange(from, w.start - from);
      if (!r) return;
      const skip = from > 0 ? skipContinuation(r.bytes) : 0;
      const bytes = r.bytes.subarray(skip);
      const parts = new TextDecoder().decode(bytes).split('\n');
      const el = scrollRef.current;
      const before = el?.scrollHeight ?? 0;
      setWin((cur) => {
        if (cur.start !== w.start) return cur;
        const lines = cur.lines.slice();
        lines[0] = parts[parts.length - 1]! + lines[0]!;
        return { ...cur, start: from + skip, lines: [...parts.slice(0, -1), ...lines] };
      });
      // Keep the lines under the reader's eyes where they were.
      requestAnimationFrame(() => {
        if (el) el.scrollTop += el.scrollHeight - before;
      });
    } catch (e) {
      setError(e);
    } finally {
      busy.current = false;
    }
  }, [fetchRange, setWin]);

  useServerEvent((e) => {
    // The live tail brings the bytes itself.
    if (streaming.current) return;
    if (e.type === 'job.log' && e.jobId === jobId) {
      setWin((cur) => ({ ...cur, total: Math.max(cur.total, e.offset + e.length) }));
      if (winRef.current.end >= winRef.current.total || winRef.current.end >= e.offset) void extendDown();
    }
    if (e.type === 'job.status' && e.jobId === jobId) void extendDown();
  });

  // The live tail: while the job builds and the window reaches the end of the log, follow the
  // log's SSE stream from there. Chunks are appended in place (the window's line array is never
  // copied) and flushed to React once per animation frame, so a fast build costs one render per
  // frame however many chunks arrive.
  const atEnd = win.end >= win.total && generation > 0;
  useEffect(() => {
    if (!live || !atEnd) return;
    const from = winRef.current.end;
    const es = new EventSource(api.logStreamUrl(jobId, from));
    streaming.current = true;
    let expected = from;
    let pending = '';
    let frame = 0;
    const flush = () => {
      frame = 0;
      if (!pending) return;
      const cur = winRef.current;
      const parts = pending.split('\n');
      pending = '';
      const lines = cur.lines;
      lines[lines.length - 1] += parts[0]!;
      for (let i = 1; i < parts.length; i++) lines.push(parts[i]!);
      setWin({ ...cur, end: expected, total: Math.max(cur.total, expected) });
    };
    const stop = () => {
      es.close();
      streaming.current = false;
      if (frame) cancelAnimationFrame(frame);
    };
    es.addEventListener('log', (ev) => {
      const d = JSON.parse((ev as MessageEvent<string>).data) as { offset: number; next: number; text: string };
      if (d.offset !== expected) {
        // Out of step (a reconnect that resumed elsewhere): fall back to range fetches.
        stop();
        void extendDown();
        return;
      }
      expected = d.next;
      pending += d.text;
      frame ||= requestAnimationFrame(flush);
    });
    es.addEventListener('reset', () => {
      stop();
      void loadFresh(false);
    });
    let ended = false;
    es.addEventListener('end', () => {
      ended = true;
      flush();
      stop();
    });
    return () => {
      flush();
      stop();
      // Stopped before the stream's own end (the job's status arrived first): fetch whatever
      // the worker wrote last.
      if (!ended) void extendDown();
    };
  }, [api, jobId, live, atEnd, generation, setWin, loadFresh, extendDown]);

  // A trailing '' after the last newline is not a line of its own.
  const lineCount = win.lines.length - (win.lines[win.lines.length - 1] === '' ? 1 : 0);
  // Every line has the same height, so the visible range is arithmetic: no per-line measurement
  // (a general virtualiser's O(lines) bookkeeping per update is what made a fast live tail lag).
  const [view, setView] = useState({ top: 0, height: 480 });
  const readView = useCallback(() => {
    const el = scrollRef.current;
    if (!el) return;
    setView((v) => (v.top === el.scrollTop && v.height === el.clientHeight ? v : { top: el.scrollTop, height: el.clientHeight }));
  }, []);
  useEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    readView();
    const ro = new ResizeObserver(readView);
    ro.observe(el);
    return () => ro.disconnect();
  }, [readView]);
  const scrollToLine = (i: number, align: 'start' | 'center') => {
    const el = scrollRef.current;
    if (!el) return;
    el.scrollTop = align === 'start' ? i * LINE_HEIGHT : i * LINE_HEIGHT - el.clientHeight / 2;
    readView();
  };
  const totalHeight = lineCount * LINE_HEIGHT;
  // While following, render the bottom now rather than after the scroll event the pin causes.
  const top = follow ? Math.max(0, totalHeight - view.height) : view.top;
  const firstShown = Math.max(0, Math.floor(top / LINE_HEIGHT) - OVERSCAN);
  const lastShown = Math.min(lineCount, Math.ceil((top + view.height) / LINE_HEIGHT) + OVERSCAN);

  // Rows have a fixed height, so the bottom is exact: pin it before the frame is painted.
  const lastTop = useRef(0);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (follow && el && lineCount > 0) {
      el.scrollTop = el.scrollHeight;
      lastTop.current = el.scrollTop;
    }
  }, [follow, lineCount]);

  const matches = useMemo(() => {
    if (!query) return [] as number[];
    const q = query.toLowerCase();
    const out: number[] = [];
    for (let i = 0; i < lineCount; i++) if (win.lines[i]!.toLowerCase().includes(q)) out.push(i);
    return out;
  }, [query, win.lines, lineCount]);
  const matchSet = useMemo(() => new Set(matches), [matches]);
  const goMatch = (i: number) => {
    if (matches.length === 0) return;
    const k = ((i % matches.length) + matches.length) % matches.length;
    setMatchIdx(k);
    setFollow(false);
    scrollToLine(matches[k]!, 'center');
  };

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    readView();
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < LINE_HEIGHT * 2;
    // Only the reader scrolling up stops following; growth of the log below never does.
    if (!atBottom && follow && el.scrollTop < lastTop.current - 1) setFollow(false);
    lastTop.current = el.scrollTop;
    if (el.scrollTop < LINE_HEIGHT * 5 && win.start > 0) void extendUp();
    if (atBottom && win.end < win.total) void extendDown();
  };

  const numbered = win.start === 0;
  const current = matches[matchIdx];
  return (
    <section className="log" aria-label="build log">
      <div className="toolbar">
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <button
          type="button"
          onClick={async () => {
            setFollow(false);
            if (winRef.current.start > 0) await loadFresh(true);
            scrollToLine(0, 'start');
          }}
        >
          Top
        </button>
        <button
          type="button"
          onClick={async () => {
            if (winRef.current.end < winRef.current.total) await loadFresh(false);
            setFollow(true);
          }}
        >
          Bottom
        </button>
        <input
          type="search"
          aria-label="search the log"
          placeholder="Search log"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setMatchIdx(0);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') goMatch(e.shiftKey ? matchIdx - 1 : matchIdx + 1);
          }}
        />
        <button type="button" disabled={!matches.length} onClick={() => goMatch(matchIdx - 1)} aria-label="previous match">
          ↑
        </button>
        <button type="button" disabled={!matches.length} onClick={() => goMatch(matchIdx + 1)} aria-label="next match">
          ↓
        </button>
        <span className="muted" data-testid="log-matches">
          {query ? `${matches.length ? matchIdx + 1 : 0}/${matches.length}` : ''}
        </span>
        <span className="spacer" />
        <span className="muted" data-testid="log-size">
          {lineCount} lines{win.start > 0 ? ` (from byte ${win.start})` : ''} · {win.total} bytes{live ? ' · live' : ''}
        </span>
        {error ? (
          <span className="error" role="alert">
            {errorText(error)}
          </span>
        ) : null}
      </div>
      {missing ? <p className="muted">No log yet.</p> : null}
      <div className="log-body" ref={scrollRef} onScroll={onScroll} tabIndex={0} data-testid="log-body">
        <div style={{ height: totalHeight, position: 'relative' }}>
          {Array.from({ length: Math.max(0, lastShown - firstShown) }, (_, k) => {
            const index = firstShown + k;
            return (
              <div
                key={index}
                className={`log-line${current === index ? ' current' : ''}${matchSet.has(index) ? ' match' : ''}`}
                style={{ position: 'absolute', top: 0, left: 0, right: 0, height: LINE_HEIGHT, transform: `translateY(${index * LINE_HEIGHT}px)` }}
              >
                <span className="ln">{numbered ? index + 1 : `+${index + 1}`}</span>
                <span className="lt">{win.lines[index]}</span>
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
