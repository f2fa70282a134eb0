// Following builds from the command line: a job's log over its SSE stream (resuming from the
// last offset after a dropped connection), and `submit --wait`, which follows every job of a
// submission, streams their logs to stdout and keeps a progress line on stderr.
import { SseParser, createApiClient, type ApiClient } from '@shared/api-client';
import { workerPaths, LogChunkEvent, LogEndEvent } from '@shared/worker-api';

export interface Connection {
  baseUrl: string;
  token?: string;
}

export function clientFor(c: Connection): ApiClient {
  return createApiClient({ baseUrl: c.baseUrl, token: c.token });
}

function headers(c: Connection, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(c.token ? { Authorization: `Bearer ${c.token}` } : {}), ...extra };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** The whole log as it is now. */
export async function readLog(c: Connection, id: number): Promise<string> {
  const res = await fetch(c.baseUrl.replace(/\/+$/, '') + workerPaths.log(id), { headers: headers(c) });
  const text = await res.text();
  if (!res.ok) throw new Error(errorText(text, res.status));
  return text;
}

function errorText(body: string, status: number): string {
  try {
    const j = JSON.parse(body) as { error?: string };
    if (j.error) return j.error;
  } catch {
    // not JSON
  }
  return body.trim() || `HTTP ${status}`;
}

export interface LogFollowOptions {
  /** Called with each piece of log text. */
  onText(text: string): void;
  /** A new build attempt started: its log begins again. */
  onReset?(): void;
  signal?: AbortSignal;
}

/**
 * Streams a job's log until the job stops producing one (the stream's `end` event); resolves
 * with the status the stream ended on. Dropped connections resume from the last offset.
 */
export async function followLog(c: Connection, id: number, o: LogFollowOptions): Promise<string> {
  let offset = 0;
  let failures = 0;
  const url = c.baseUrl.replace(/\/+$/, '') + workerPaths.logStream(id);
  while (!o.signal?.aborted) {
    let res: Response;
    try {
      res = await fetch(`${url}?offset=${offset}`, { headers: headers(c, { Accept: 'text/event-stream' }), signal: o.signal });
    } catch (e) {
      if (o.signal?.aborted) break;
      if (++failures > 30) throw new Error(`log stream of job ${id}: ${(e as Error).message}`);
      await sleep(1000, o.signal);
      continue;
    }
    if (!res.ok || !res.body) {
      const msg = errorText(await res.text(), res.status);
      if (res.status >= 400 && res.status < 500) throw new Error(`job ${id}: ${msg}`);
      if (++failures > 30) throw new Error(`log stream of job ${id}: ${msg}`);
      await sleep(1000, o.signal);
      continue;
    }
    failures = 0;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const f of parser.push(decoder.decode(value, { stream: true }))) {
          if (!f.data) continue;
          const data = JSON.parse(f.data) as unknown;
          if (f.event === 'log') {
            const chunk = LogChunkEvent.parse(data);
            if (chunk.text) o.onText(chunk.text);
            offset = chunk.next;
          } else if (f.event === 'reset') {
            offset = 0;
            o.onReset?.();
          } else if (f.event === 'end') {
            return LogEndEvent.parse(data).status;
          }
        }
      }
    } catch (e) {
      if (o.signal?.aborted) break;
      if (++failures > 30) throw e;
    }
    await sleep(500, o.signal);
  }
  return 'aborted';
}

const SUCCESS = new Set(['Done', 'Uploaded']);
const FAILURE = new Set(['Failed', 'Cancelled']);

interface Tracked {
  id: number;
  arch: string;
  status: string;
  /** Bytes of log printed. */
  logBytes: number;
}

export interface WaitOptions {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Give up after this many seconds (0 = never). */
  timeoutSeconds?: number;
}

/**
 * Follows `ids` until every one is Done/Uploaded (true) or one of them ends Failed/Cancelled
 * while the rest have ended too (false). Blocked jobs are retried by the controller, so they
 * are waited for. Logs go to stdout, prefixed by the architecture when there are several jobs.
 */
export async function waitForJobs(c: Connection, ids: number[], o: WaitOptions): Promise<boolean> {
  const client = clientFor(c);
  const jobs = new Map<number, Tracked>();
  for (const id of ids) {
    const j = await client.getJob(id);
    jobs.set(id, { id, arch: j.arch, status: j.status, logBytes: 0 });
  }
  const multi = jobs.size > 1;
  const tty = Boolean(o.stderr.isTTY);
  let lastProgress = '';
  const progressText = () => {
    const all = [...jobs.values()];
    const done = all.filter((j) => SUCCESS.has(j.status) || FAILURE.has(j.status)).length;
    const kib = all.reduce((n, j) => n + j.logBytes, 0) / 1024;
    return `[${done}/${all.length} finished] ${all.map((j) => `#${j.id} ${j.arch} ${j.status}`).join(' · ')} · log ${kib.toFixed(1)} KiB`;
  };
  const clearProgress = () => {
    if (tty && lastProgress) o.stderr.write('\r\x1b[K');
  };
  const drawProgress = (force = false) => {
    const text = progressText();
    if (tty) o.stderr.write(`\r\x1b[K${text}`);
    else if (force || text.replace(/ · log .*$/, '') !== lastProgress.replace(/ · log .*$/, '')) o.stderr.write(`${text}\n`);
    lastProgress = text;
  };
  const allOver = () => [...jobs.values()].every((j) => SUCCESS.has(j.status) || FAILURE.has(j.status));

  const abort = new AbortController();
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const update = (id: number, status: string) => {
    const j = jobs.get(id);
    if (!j || j.status === status) return;
    j.status = status;
    drawProgress();
    if (allOver()) finish();
  };

  const events = client.events({
    onEvent: ({ event }) => {
      if (event.type === 'job.status') update(event.jobId, event.status);
    },
    onOpen: () => {
      // Statuses may have changed before the stream was open.
      for (const id of jobs.keys()) void client.getJob(id).then((j) => update(id, j.status), () => {});
    },
  });
  // The event stream is the fast path; this catches anything a dropped connection missed.
  const poll = setInterval(() => {
    for (const id of jobs.keys()) void client.getJob(id).then((j) => update(id, j.status), () => {});
  }, 5000);
  const timer = o.timeoutSeconds ? setTimeout(finish, o.timeoutSeconds * 1000) : null;

  const pending = new Map<number, string>();
  const writeLog = (j: Tracked, text: string) => {
    j.logBytes += Buffer.byteLength(text);
    clearProgress();
    if (!multi) o.stdout.write(text);
    else {
      // Prefix whole lines; keep a partial last line until its end arrives.
      const lines = ((pending.get(j.id) ?? '') + text).split('\n');
      pending.set(j.id, lines.pop()!);
      for (const l of lines) o.stdout.write(`[${j.arch}] ${l}\n`);
    }
    if (tty) drawProgress();
  };
  const logs = [...jobs.values()].map(async (j) => {
    for (;;) {
      const ended = await followLog(c, j.id, {
        signal: abort.signal,
        onText: (t) => writeLog(j, t),
        onReset: () => writeLog(j, `\n--- job ${j.id}: a new build attempt starts ---\n`),
      }).catch((e: Error) => {
        clearProgress();
        o.stderr.write(`buildbox: ${e.message}\n`);
        return 'aborted';
      });
      if (ended === 'aborted' || SUCCESS.has(ended) || FAILURE.has(ended)) return;
      // Blocked (dependency wait) or a requeue: the next attempt gets a log of its own.
      while (!abort.signal.aborted && (j.status === 'Blocked' || j.status === ended)) await sleep(500, abort.signal);
      if (abort.signal.aborted || SUCCESS.has(j.status) || FAILURE.has(j.status)) return;
    }
  });

  drawProgress(true);
  if (allOver()) finish();
  await finished;
  // Let the log streams deliver their tails (each ends by itself once its job is over).
  await Promise.race([Promise.all(logs), sleep(10_000)]);
  abort.abort();
  events.close();
  clearInterval(poll);
  if (timer) clearTimeout(timer);
  for (const [id, rest] of pending) if (rest) o.stdout.write(`[${jobs.get(id)!.arch}] ${rest}\n`);
  clearProgress();
  const summary = [...jobs.values()].map((j) => `job ${j.id} (${j.arch}): ${j.status}`).join(', ');
  o.stderr.write(`${summary}\n`);
  if (!allOver()) {
    o.stderr.write(`buildbox: gave up waiting after ${o.timeoutSeconds} s\n`);
    return false;
  }
  return [...jobs.values()].every((j) => SUCCESS.has(j.status));
}
