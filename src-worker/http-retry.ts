// HTTP for the worker: small JSON requests with a timeout, and a retry loop with capped
// exponential back-off for the errors that say nothing about the build (connection refused,
// timeouts, 5xx, 429). Such errors are never turned into a build failure (pyBit bug #95).
import http from 'node:http';
import https from 'node:https';

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

export interface HttpResponse {
  status: number;
  contentType: string;
  /** The body as UTF-8. */
  text: string;
  /** The body as received (for callers that decode it themselves, such as XML). */
  bytes: Buffer;
}

/** No complete answer within the request's timeout. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
}

// node:http with keep-alive rather than fetch: a worker talks to one controller all the time
// (claims, heartbeats, log chunks, uploads), and the build manager to each builder every scan;
// fetch costs ~0.3–0.5 ms more per request, which was most of the worker's share of dispatch
// latency and more than half of a scan's status() fan-out.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 16 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

/**
 * One request on a kept-alive connection. Rejects with RequestTimeoutError when the whole
 * exchange takes longer than `timeoutMs`, with an Error('aborted') once `signal` fires, and with
 * the socket's error (its `code` says which: ECONNREFUSED…) otherwise; any HTTP status resolves.
 */
export async function httpRequest(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | Buffer | Uint8Array; timeoutMs?: number; signal?: AbortSignal },
): Promise<HttpResponse> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
  if (!lib) throw new Error(`unsupported URL scheme in ${url}`);
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? Buffer.from(init.body) : init.body;
  const headers: Record<string, string | number> = { ...init.headers };
  if (body) headers['content-length'] = body.byteLength;
  const timeoutMs = init.timeoutMs ?? 30_000;
  const signal = init.signal;
  if (signal?.aborted) throw new Error('aborted');
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = lib.request(u, { method: init.method, headers, agent: agents[u.protocol as 'http:' | 'https:'] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', fail);
      res.on('end', () => {
        settle();
        const ct = res.headers['content-type'];
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, contentType: Array.isArray(ct) ? ct.join(', ') : (ct ?? ''), text: bytes.toString('utf8'), bytes });
      });
    });
    // The whole exchange, not just idle time, as AbortSignal.timeout did for fetch.
    const timer = setTimeout(() => req.destroy(new RequestTimeoutError(`${init.method} ${u.origin}${u.pathname}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => req.destroy(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    function settle() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    function fail(err: Error) {
      settle();
      reject(err);
    }
    req.on('error', fail);
    req.end(body);
  });
}

/** Transport trouble or a server that is temporarily unable: worth trying again. */
export function isTransient(err: unknown): boolean {
  if (err instanceof HttpStatusError) return err.status >= 500 || err.status === 429 || err.status === 408;
  return true; // fetch failed: refused, reset, DNS, timeout
}

export interface RetryOptions {
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this long (default: never). */
  deadlineMs?: number;
  /** Stop retrying when this fires (the worker is shutting down). */
  signal?: AbortSignal;
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
}

export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  let delay = opts.minDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 10_000;
  const until = opts.deadlineMs === undefined ? Infinity : Date.now() + opts.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || opts.signal?.aborted || Date.now() + delay > until) throw err;
      const wait = Math.round(delay * (0.85 + Math.random() * 0.3));
      opts.onRetry?.(err, attempt, wait);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        opts.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
      delay = Math.min(delay * 2, max);
    }
  }
}
