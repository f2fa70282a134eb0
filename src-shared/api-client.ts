// Typed client for the controller's /api/v1, used by the UI (browser) and the CLI (Node 20).
// Requests go through axios; responses are checked against the shared zod schemas, so a
// controller and a client that disagree fail loudly at the boundary. The event stream uses
// fetch streaming, which both browsers and Node 20 have (EventSource cannot send headers).
import axios, { type AxiosInstance } from 'axios';
import type { z } from 'zod';
import {
  ApiEvent,
  apiRoutes,
  BulkCancelResponse,
  CancelJobResponse,
  JobDetail,
  JobListResponse,
  LookupsResponse,
  RetryJobResponse,
  StatsResponse,
  SubmitJobResponse,
  type BulkCancelRequest,
  type JobListParams,
  type JobSummary,
  type SubmitJobRequest,
} from './api';

export interface ApiClientOptions {
  /** The controller's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** A user token (sent as Bearer). */
  token?: string;
  /** Or a user name and password (HTTP Basic). */
  basic?: { username: string; password: string };
  /** Request timeout in ms (default 30 s; 0 = none). */
  timeoutMs?: number;
  /** Check responses against the schemas (default true). */
  validate?: boolean;
}

/** An error answer from the controller (or no answer at all: statusCode 0). */
export class ApiError extends Error {
  constructor(
    message: string,
    public readonly statusCode: number,
    public readonly method: string,
    public readonly path: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function authorization(opts: Pick<ApiClientOptions, 'token' | 'basic'>): string | undefined {
  if (opts.token) return `Bearer ${opts.token}`;
  if (opts.basic) return `Basic ${base64(`${opts.basic.username}:${opts.basic.password}`)}`;
  return undefined;
}

function base64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Query string with repeated keys for lists (`status=A&status=B`), as the API expects. */
export function jobListQueryString(p: JobListParams = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const item of v) q.append(k, String(item));
    else if (typeof v === 'boolean') q.append(k, v ? '1' : '0');
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

const jobPath = (template: string, id: number) => template.replace('{id}', String(id));

export interface ApiClient {
  listJobs(params?: JobListParams): Promise<JobListResponse>;
  /** Every job matching the filter, page by page (newest first). */
  iterateJobs(params?: Omit<JobListParams, 'cursor' | 'counts'>): AsyncGenerator<JobSummary>;
  getJob(id: number): Promise<JobDetail>;
  stats(): Promise<StatsResponse>;
  lookups(): Promise<LookupsResponse>;
  submitJob(body: SubmitJobRequest): Promise<SubmitJobResponse>;
  cancelJob(id: number): Promise<CancelJobResponse>;
  retryJob(id: number): Promise<RetryJobResponse>;
  cancelJobs(body: BulkCancelRequest): Promise<BulkCancelResponse>;
  openapi(): Promise<Record<string, unknown>>;
  metrics(): Promise<string>;
  /** Subscribes to the event stream (reconnects until closed). */
  events(opts: Omit<EventStreamOptions, 'baseUrl' | 'token' | 'basic'>): EventStream;
}

export function createApiClient(opts: ApiClientOptions): ApiClient {
  const baseUrl = trimSlash(opts.baseUrl);
  const auth = authorization(opts);
  const validate = opts.validate !== false;
  const http: AxiosInstance = axios.create({
    baseURL: baseUrl,
    timeout: opts.timeoutMs ?? 30_000,
    headers: auth ? { Authorization: auth } : {},
    // Errors are turned into ApiError below, with the controller's own message.
    validateStatus: () => true,
    transitional: { clarifyTimeoutError: true },
  });

  async function call<S extends z.ZodType>(method: 'GET' | 'POST', path: string, schema: S | null, body?: unknown): Promise<z.output<S>> {
    let res;
    try {
      res = await http.request({
        method,
        url: path,
        data: body,
        headers: body !== undefined ? { 'Content-Type': 'application/json' } : undefined,
      });
    } catch (e) {
      throw new ApiError(`${method} ${path}: ${(e as Error).message}`, 0, method, path);
    }
    if (res.status < 200 || res.status >= 300) {
      const data = res.data as { error?: unknown } | string | undefined;
      const msg = data && typeof data === 'object' && typeof data.error === 'string' ? data.error : typeof data === 'string' && data ? data : `HTTP ${res.status}`;
      throw new ApiError(msg, res.status, method, path);
    }
    if (!schema || !validate) return res.data as z.output<S>;
    const parsed = schema.safeParse(res.data);
    if (!parsed.success) {
      throw new ApiError(`${method} ${path}: unexpected response: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, res.status, method, path);
    }
    return parsed.data;
  }

  const client: ApiClient = {
    listJobs: (params) => call('GET', apiRoutes.listJobs.path + jobListQueryString(params), JobListResponse),
    async *iterateJobs(params = {}) {
      let cursor: string | undefined;
      do {
        const page = await client.listJobs({ ...params, cursor });
        yield* page.items;
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    },
    getJob: (id) => call('GET', jobPath(apiRoutes.getJob.path, id), JobDetail),
    stats: () => call('GET', apiRoutes.stats.path, StatsResponse),
    lookups: () => call('GET', apiRoutes.lookups.path, LookupsResponse),
    submitJob: (body) => call('POST', apiRoutes.submitJob.path, SubmitJobResponse, body),
    cancelJob: (id) => call('POST', jobPath(apiRoutes.cancelJob.path, id), CancelJobResponse),
    retryJob: (id) => call('POST', jobPath(apiRoutes.retryJob.path, id), RetryJobResponse),
    cancelJobs: (body) => call('POST', apiRoutes.cancelJobs.path, BulkCancelResponse, body),
    openapi: async () => (await call('GET', apiRoutes.openapi.path, null)) as Record<string, unknown>,
    metrics: async () => {
      const res = await http.get<string>(apiRoutes.metrics.path, { responseType: 'text', transformResponse: (d: unknown) => d });
      if (res.status !== 200) throw new ApiError(`HTTP ${res.status}`, res.status, 'GET', apiRoutes.metrics.path);
      return res.data;
    },
    events: (o) => openEventStream({ ...o, baseUrl, token: opts.token, basic: opts.basic }),
  };
  return client;
}

// ---- Server-Sent Events -----------------------------------------------------------------------

export interface ReceivedEvent {
  /** The SSE id (pass as lastEventId to resume). */
  id: string | null;
  event: ApiEvent;
}

export interface EventStreamOptions {
  baseUrl: string;
  token?: string;
  basic?: { username: string; password: string };
  /** Only events about this job. */
  job?: number;
  /** Resume after this event id. */
  lastEventId?: string;
  onEvent(e: ReceivedEvent): void;
  /** Called when the stream connects (and on each reconnect). */
  onOpen?(): void;
  /** Called on each connection failure or drop; the stream retries unless closed. */
  onError?(err: Error): void;
  /** Reconnect delay when the server gives none (ms, default 2000). */
  retryMs?: number;
  /** Stop instead of reconnecting when the connection ends (default false). */
  once?: boolean;
}

export interface EventStream {
  close(): void;
  /** Resolves when the stream has stopped for good (close(), or `once` and the connection ended). */
  done: Promise<void>;
}

/** Parses SSE text incrementally; returns complete frames and keeps the partial rest. */
export class SseParser {
  private buf = '';
  push(chunk: string): Array<{ id: string | null; event: string; data: string; retry: number | null }> {
    this.buf += chunk.replace(/\r\n?/g, '\n');
    const out = [];
    let end: number;
    while ((end = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + 2);
      let id: string | null = null;
      let event = 'message';
      let retry: number | null = null;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
      }
      if (data.length > 0 || retry !== null) out.push({ id, event, data: data.join('\n'), retry });
    }
    return out;
  }
}

export function openEventStream(opts: EventStreamOptions): EventStream {
  const controller = new AbortController();
  let closed = false;
  let lastEventId = opts.lastEventId;
  let retryMs = opts.retryMs ?? 2000;
  const auth = authorization(opts);

  const connectOnce = async (): Promise<void> => {
    const q = new URLSearchParams();
    if (opts.job !== undefined) q.set('job', String(opts.job));
    const qs = q.toString();
    const url = `${trimSlash(opts.baseUrl)}${apiRoutes.events.path}${qs ? `?${qs}` : ''}`;
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (auth) headers.Authorization = auth;
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    const res = await fetch(url, { headers, signal: controller.signal });
    if (!res.ok || !res.body) {
      let msg = `HTTP ${res.status}`;
      try {
        const body = (await res.json()) as { error?: string };
        if (body.error) msg = body.error;
      } catch {
        // not JSON
      }
      throw new ApiError(msg, res.status, 'GET', apiRoutes.events.path);
    }
    opts.onOpen?.();
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const f of parser.push(decoder.decode(value, { stream: true }))) {
        if (f.retry !== null) retryMs = f.retry;
        if (!f.data) continue;
        if (f.id !== null) lastEventId = f.id;
        let parsed;
        try {
          parsed = ApiEvent.safeParse(JSON.parse(f.data));
        } catch {
          continue;
        }
        // Event types this client does not know yet are skipped, not fatal.
        if (parsed.success) opts.onEvent({ id: f.id, event: parsed.data });
      }
    }
  };

  const run = async () => {
    while (!closed) {
      try {
        await connectOnce();
        if (!closed) opts.onError?.(new Error('event stream ended'));
      } catch (e) {
        if (closed) return;
        opts.onError?.(e as Error);
        // Credentials or the request itself are wrong: retrying will not help.
        if (e instanceof ApiError && e.statusCode >= 400 && e.statusCode < 500) return;
      }
      if (opts.once || closed) return;
      await new Promise<void>((resolve) => {
        if (controller.signal.aborted) return resolve();
        const t = setTimeout(resolve, retryMs);
        controller.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
  };

  const done = run();
  return {
    close() {
      closed = true;
      controller.abort();
    },
    done,
  };
}
