// Runs bench/lib/http-load.mjs in a child process and waits for its result.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

/** `onStart` runs when the generator sends its first request (after its process started). */
export function runLoad(spec: LoadSpec, onStart: () => void = () => {}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./http-load.mjs', import.meta.url)), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    let result: LoadResult | null = null;
    child.on('message', (m) => {
      if ((m as { started?: boolean }).started) onStart();
      else result = m as LoadResult;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`load generator exited with code ${code} before reporting`));
    });
    child.send({ method: 'POST', headers: {}, ...spec });
  });
}
