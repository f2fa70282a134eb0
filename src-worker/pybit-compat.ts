// pyBit's build-client protocol over HTTP (spec/pybit.md §5.2, §5.7), for controllers that have
// no /api/v1: GET /job/<id>/status to decide whether to build, PUT /job/<id> status=... to
// report. Unlike pyBit, connection errors and 5xx are retried, never taken for a failed build.
import { HttpStatusError, httpRequest } from './http-retry';

export type PybitJobState =
  /** Waiting or Blocked: build it. */
  | { kind: 'build'; status: string }
  /** 404 or an empty history. */
  | { kind: 'unknown' }
  | { kind: 'other'; status: string; client: string | null };

export interface PybitClientOptions {
  /** `http://host:port`, possibly with user:password@ for HTTP Basic. */
  baseUrl: string;
  token?: string;
  timeoutMs?: number;
}

export class PybitClient {
  readonly baseUrl: string;
  private readonly auth: string;

  constructor(private readonly opts: PybitClientOptions) {
    const u = new URL(opts.baseUrl);
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    this.baseUrl = u.toString().replace(/\/+$/, '');
    if (opts.token) this.auth = `Bearer ${opts.token}`;
    // pyBit's client always sends admin:pass; credentials in the URL replace them.
    else this.auth = `Basic ${Buffer.from(user ? `${user}:${pass}` : 'admin:pass').toString('base64')}`;
  }

  /** pyBit's decision table (§5.2, IDLE receiving a BuildRequest). Throws on transport errors and 5xx. */
  async jobState(jobId: number): Promise<PybitJobState> {
    const r = await httpRequest(`${this.baseUrl}/job/${jobId}/status`, { method: 'GET', headers: { authorization: this.auth }, timeoutMs: this.opts.timeoutMs });
    if (r.status === 404) return { kind: 'unknown' };
    if (r.status >= 500) throw new HttpStatusError(r.status, r.text, `GET /job/${jobId}/status`);
    // pyBit: any other non-200, or a 200 that is not exactly application/json, counts as Waiting.
    if (r.status !== 200 || r.contentType.split(';')[0].trim() !== 'application/json') return { kind: 'build', status: 'Waiting' };
    let history: unknown;
    try {
      history = JSON.parse(r.text);
    } catch {
      return { kind: 'build', status: 'Waiting' };
    }
    if (!Array.isArray(history) || history.length === 0) return { kind: 'unknown' };
    const last = history[history.length - 1] as { status?: unknown; buildclient?: unknown };
    const status = typeof last.status === 'string' ? last.status : String(last.status);
    if (status === 'Waiting' || status === 'Blocked') return { kind: 'build', status };
    return { kind: 'other', status, client: typeof last.buildclient === 'string' ? last.buildclient : null };
  }

  /** PUT /job/<id> with status (and client for Building). Throws on transport errors and 5xx; 4xx are returned. */
  async putStatus(jobId: number, status: string, client?: string): Promise<number> {
    const form = new URLSearchParams({ status });
    if (client) form.set('client', client);
    const r = await httpRequest(`${this.baseUrl}/job/${jobId}`, {
      method: 'PUT',
      headers: { authorization: this.auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      timeoutMs: this.opts.timeoutMs,
    });
    if (r.status >= 500 || r.status === 429) throw new HttpStatusError(r.status, r.text, `PUT /job/${jobId} status=${status}`);
    return r.status;
  }
}

/** The pyBit status a finished build is reported with. */
export function pybitStatusFor(category: string): 'Done' | 'Failed' | 'Blocked' | 'Cancelled' {
  switch (category) {
    case 'OK':
      return 'Done';
    case 'DEPFAIL':
    case 'GIVENBACK':
      return 'Blocked';
    case 'ABORTED':
      return 'Cancelled';
    default:
      return 'Failed';
  }
}
