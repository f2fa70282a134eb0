// A small fetch wrapper for the controller: base URL + credential, JSON or form bodies, and
// errors turned into readable messages (the /api/v1 `{error}` body, or pyBit's text body such
// as `400 - Required field 'name' is missing.`).
import { authorizationHeader, type Connection } from './connection';

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | number | boolean | undefined | null | Array<string | number>>;

export interface RequestOptions {
  query?: Query;
  json?: unknown;
  form?: Record<string, string | number | boolean | undefined>;
  body?: BodyInit;
  /** Needs a credential: refuse up front instead of letting the server ask for one. */
  auth?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function buildQuery(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      if (v.length > 0) p.set(k, v.join(','));
    } else p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Turns a response body into one readable line. */
export function errorMessage(status: number, text: string, contentType: string | null): string {
  const trimmed = text.trim();
  if (contentType?.includes('json') || trimmed.startsWith('{')) {
    try {
      const j = JSON.parse(trimmed) as { error?: unknown; message?: unknown };
      const m = typeof j.error === 'string' ? j.error : typeof j.message === 'string' ? j.message : null;
      if (m) return m;
    } catch {
      // fall through to the text
    }
  }
  if (trimmed && !trimmed.startsWith('<')) return trimmed.replace(/^\d{3}\s*-\s*/, '');
  if (status === 401) return 'not logged in, or the credential was refused (Settings → Credential)';
  if (status === 403) return 'not allowed with this credential';
  if (status === 404) return 'not found';
  return `the controller answered HTTP ${status}`;
}

export class Http {
  constructor(private readonly conn: Connection) {}

  get baseUrl(): string {
    return this.conn.baseUrl;
  }
  get loggedIn(): boolean {
    return this.conn.token !== '';
  }
  get credential(): string {
    return this.conn.token;
  }

  url(path: string, query?: Query): string {
    return `${this.conn.baseUrl}${path}${buildQuery(query)}`;
  }

  headers(extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...(extra ?? {}) };
    const auth = authorizationHeader(this.conn.token);
    if (auth) h.authorization = auth;
    return h;
  }

  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    if (opts.auth && !this.conn.token) throw new ApiError(401, 'log in first: enter a token or user:password on the Settings screen');
    const headers = this.headers(opts.headers);
    let body: BodyInit | undefined = opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.form)) if (v !== undefined) p.set(k, String(v));
      body = p.toString();
    }
    let res: Response;
    try {
      // No cookies are used; 'omit' also stops the browser from popping up its own Basic-auth
      // dialog when pyBit's routes answer 401 with a Basic challenge.
      res = await fetch(this.url(path, opts.query), { method, headers, body, signal: opts.signal, credentials: 'omit' });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new ApiError(0, `cannot reach the controller at ${this.conn.baseUrl} (${(e as Error).message})`);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new ApiError(res.status, errorMessage(res.status, text, res.headers.get('content-type')));
    }
    return res;
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.json<T>('GET', path, { query, signal });
  }
}
