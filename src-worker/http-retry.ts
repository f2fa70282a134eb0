// HTTP for the worker: small JSON requests with a timeout, and a retry loop with capped
// exponential back-off for the errors that say nothing about the build (connection refused,
// timeouts, 5xx, 429). Such errors are never turned into a build failure (pyBit bug #95).

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
  text: string;
}

export async function httpRequest(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | Buffer | Uint8Array; timeoutMs?: number },
): Promise<HttpResponse> {
  const res = await fetch(url, {
    method: init.method,
    headers: init.headers,
    body: init.body as string | Uint8Array | undefined,
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
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
