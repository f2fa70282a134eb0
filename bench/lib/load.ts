// Runs bench/lib/http-load.mjs in a worker thread and waits for its result.
import { Worker } from 'node:worker_threads';

export interface LoadSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  /** Form fields; `{i}` in a value becomes the request's sequence number. */
  form: Record<string, string>;
  concurrency: number;
  durationMs: number;
  /** Upper bound on requests (also sizes the latency buffer). */
  maxRequests: number;
}

export interface LoadResult {
  count: number;
  errors: number;
  firstError: string | null;
  /** Per-request latency in ms, in completion order. */
  latencies: Float64Array;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./http-load.mjs', import.meta.url), {
      workerData: { method: 'POST', headers: {}, ...spec },
    });
    let done = false;
    w.once('message', (m: LoadResult) => {
      done = true;
      resolve(m);
    });
    w.once('error', reject);
    w.once('exit', (code) => {
      if (!done) reject(new Error(`load generator exited with code ${code} before reporting`));
    });
  });
}
