// The worker's side of the Buildbox controller's /api/v1 worker endpoints
// (src-shared/worker-api.ts): hello, claim, heartbeat, log chunks, artifacts, finish.
import { readFile } from 'node:fs/promises';
import {
  ClaimResponse,
  HeartbeatResponse,
  WorkerConflict,
  WorkerHelloResponse,
  workerPaths,
  type FinishRequest,
  type WorkerHello,
} from '@shared/worker-api';
import { HttpStatusError, httpRequest, type HttpResponse } from './http-retry';

export type ClaimResult =
  | { kind: 'claimed'; claim: ClaimResponse }
  /** Lost the race, cancelled, finished or unknown: ack the message and do nothing. */
  | { kind: 'skip'; status: number; reason: string };

export class ControllerClient {
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;

  constructor(
    baseUrl: string,
    readonly worker: string,
    token: string | undefined,
    private readonly timeoutMs = 30_000,
  ) {
    const u = new URL(baseUrl);
    u.username = '';
    u.password = '';
    this.baseUrl = u.toString().replace(/\/+$/, '');
    this.headers = token ? { authorization: `Bearer ${token}` } : {};
  }

  private async call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<HttpResponse> {
    const isBuffer = Buffer.isBuffer(body);
    return httpRequest(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...this.headers,
        ...(body === undefined ? {} : { 'content-type': isBuffer ? 'application/octet-stream' : 'application/json' }),
        ...extra,
      },
      body: body === undefined ? undefined : isBuffer ? (body as Buffer) : JSON.stringify(body),
      timeoutMs: this.timeoutMs,
    });
  }

  /** Throws HttpStatusError for anything but 2xx. */
  private async ok(what: string, r: HttpResponse): Promise<unknown> {
    if (r.status < 200 || r.status >= 300) throw new HttpStatusError(r.status, r.text, what);
    if (!r.text) return null;
    try {
      return JSON.parse(r.text) as unknown;
    } catch {
      return r.text;
    }
  }

  /**
   * Says hello, which also tells whether this controller speaks /api/v1: 404/405 means a plain
   * pyBit controller. Throws on transport errors (the caller retries) and on 401/403.
   */
  async hello(hello: WorkerHello): Promise<{ mode: 'buildbox' | 'pybit'; helloEverySeconds?: number }> {
    const r = await this.call('POST', workerPaths.hello, hello);
    if (r.status === 404 || r.status === 405) return { mode: 'pybit' };
    if (r.status === 401 || r.status === 403) throw new HttpStatusError(r.status, r.text, 'the controller refused the worker token');
    const body = WorkerHelloResponse.safeParse(await this.ok('hello', r));
    return { mode: 'buildbox', helloEverySeconds: body.success ? body.data.heartbeatSeconds : undefined };
  }

  async claim(jobId: number): Promise<ClaimResult> {
    const r = await this.call('POST', workerPaths.claim(jobId), { worker: this.worker });
    if (r.status >= 200 && r.status < 300) return { kind: 'claimed', claim: ClaimResponse.parse(JSON.parse(r.text)) };
    if (r.status === 404 || r.status === 409 || r.status === 410 || r.status === 422) return { kind: 'skip', status: r.status, reason: r.text.slice(0, 300) };
    throw new HttpStatusError(r.status, r.text, `claim job ${jobId}`);
  }

  async heartbeat(jobId: number): Promise<HeartbeatResponse> {
    const r = await this.call('POST', workerPaths.heartbeat(jobId), { worker: this.worker });
    if (r.status === 404 || r.status === 409 || r.status === 410) {
      // The job is gone or no longer ours.
      return { leaseExpiresAt: null, stop: true, status: conflictOf(r)?.status ?? 'unknown', reason: 'lease-lost' };
    }
    return HeartbeatResponse.parse(await this.ok(`heartbeat job ${jobId}`, r));
  }

  /**
   * One offset-addressed chunk; resending a chunk the controller already has is harmless.
   * Returns the controller's length when it refused the chunk because it has less (a gap).
   */
  async appendLog(jobId: number, offset: number, data: Buffer): Promise<{ gapAt?: number }> {
    const q = new URLSearchParams({ offset: String(offset), worker: this.worker });
    const r = await this.call('PUT', `${workerPaths.log(jobId)}?${q}`, data);
    const c = r.status === 409 ? conflictOf(r) : null;
    if (c && typeof c.length === 'number' && c.length < offset) return { gapAt: c.length };
    await this.ok(`log chunk of job ${jobId} at ${offset}`, r);
    return {};
  }

  async uploadArtifact(jobId: number, file: { name: string; path: string; sha256: string }): Promise<void> {
    const data = await readFile(file.path);
    const q = new URLSearchParams({ worker: this.worker, sha256: file.sha256 });
    await this.ok(`upload ${file.name} of job ${jobId}`, await this.call('PUT', `${workerPaths.artifact(jobId, file.name)}?${q}`, data));
  }

  /** 2xx → accepted; 4xx → refused for good (e.g. the job is no longer ours): returns the status. */
  async finish(jobId: number, req: Omit<FinishRequest, 'worker'>): Promise<number> {
    const r = await this.call('POST', workerPaths.finish(jobId), { worker: this.worker, ...req });
    if (r.status >= 500 || r.status === 429 || r.status === 408) throw new HttpStatusError(r.status, r.text, `finish job ${jobId}`);
    return r.status;
  }
}

function conflictOf(r: HttpResponse): WorkerConflict | null {
  try {
    const p = WorkerConflict.safeParse(JSON.parse(r.text));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}
