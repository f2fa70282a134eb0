// Every call the UI makes to the controller, in one place: the JSON API under /api/v1 for jobs,
// stats, lookups and submissions, and pyBit's form routes for the writes that only they offer
// (lookups, mappings, packages, package instances, build clients).
import { createApiClient, ApiError as SharedApiError, type ApiClient, type EventStream } from '@shared/api-client';
import {
  API_PREFIX,
  CANCEL_ALL_CONFIRMATION,
  type ApiEvent,
  type BulkCancelResponse,
  type CancelJobResponse,
  type JobDetail,
  type JobListParams,
  type JobListResponse,
  type LookupsResponse,
  type RetryJobResponse,
  type StatsResponse,
  type SubmitJobRequest,
  type SubmitJobResponse,
} from '@shared/api';
import { BuilderInfo, UploadResponse, builderRoutes, type BuilderCreate, type BuilderPatch } from '@shared/builders-api';
import { ApiError, Http } from './http';

export type LookupKind = 'arch' | 'suite' | 'dist' | 'format' | 'status' | 'env';

export interface PackageRow {
  id: number;
  name: string;
  version: string;
}
export interface PackageInstanceRow {
  id: number;
  package: { id: number; name: string; version: string };
  arch: { id: number; name: string };
  suite: { id: number; name: string };
  distribution: { id: number; name: string };
  format: { id: number; name: string };
  build_env: { id: number; name: string } | null;
  master: boolean;
}
export interface BuildClientRow {
  id: number;
  name: string;
}

/** A Buildbox worker as /api/v1/workers reports it (fields beyond name are optional). */
export interface WorkerRow {
  name: string;
  kind?: string;
  state?: string;
  online?: boolean;
  lastSeen?: string | null;
  currentJob?: number | null;
  currentJobs?: number[];
  queues?: string[];
  suites?: string[];
  dist?: string | null;
  format?: string | null;
  backend?: string | null;
  slots?: number;
  arch?: string | null;
  url?: string | null;
  enabled?: boolean;
  manual?: boolean;
  failureNotes?: string | null;
  [k: string]: unknown;
}

export interface Artifact {
  name: string;
  size?: number;
  sha1?: string;
  sha256?: string;
  url?: string;
  [k: string]: unknown;
}

export interface LogRange {
  bytes: Uint8Array;
  /** Byte offset of the first byte returned. */
  offset: number;
  /** Total size of the log so far. */
  total: number;
}

export const LOG_RANGE_BYTES = 256 * 1024;

const builderPath = (name: string) => builderRoutes.one.replace(':name', encodeURIComponent(name));

export class Api {
  private readonly client: ApiClient;
  constructor(readonly http: Http) {
    const cred = http.credential;
    const basic = cred && !cred.startsWith('bbx_') && cred.includes(':') ? { username: cred.slice(0, cred.indexOf(':')), password: cred.slice(cred.indexOf(':') + 1) } : undefined;
    this.client = createApiClient({ baseUrl: http.baseUrl, token: basic ? undefined : cred || undefined, basic });
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }
  get loggedIn(): boolean {
    return this.http.loggedIn;
  }

  // ---- /api/v1 through the shared typed client (responses checked against the shared schemas)
  private async v1<T>(fn: (c: ApiClient) => Promise<T>, write = false): Promise<T> {
    if (write && !this.loggedIn) throw new ApiError(401, 'log in first: enter a token or user:password on the Settings screen');
    try {
      return await fn(this.client);
    } catch (e) {
      if (e instanceof SharedApiError) {
        throw new ApiError(e.statusCode, e.statusCode === 0 ? `cannot reach the controller at ${this.baseUrl} (${e.message})` : e.message);
      }
      throw e;
    }
  }
  listJobs(params: JobListParams, _signal?: AbortSignal): Promise<JobListResponse> {
    return this.v1((c) => c.listJobs(params));
  }
  getJob(id: number, _signal?: AbortSignal): Promise<JobDetail> {
    return this.v1((c) => c.getJob(id));
  }
  stats(_signal?: AbortSignal): Promise<StatsResponse> {
    return this.v1((c) => c.stats());
  }
  lookups(_signal?: AbortSignal): Promise<LookupsResponse> {
    return this.v1((c) => c.lookups());
  }
  submitJob(body: SubmitJobRequest): Promise<SubmitJobResponse> {
    return this.v1((c) => c.submitJob(body), true);
  }
  cancelJob(id: number): Promise<CancelJobResponse> {
    return this.v1((c) => c.cancelJob(id), true);
  }
  retryJob(id: number): Promise<RetryJobResponse> {
    return this.v1((c) => c.retryJob(id), true);
  }
  cancelJobs(ids: number[]): Promise<BulkCancelResponse> {
    return this.v1((c) => c.cancelJobs({ ids }), true);
  }
  cancelAll(): Promise<BulkCancelResponse> {
    return this.v1((c) => c.cancelJobs({ all: true, confirm: CANCEL_ALL_CONFIRMATION }), true);
  }
  /** The live event stream (reconnects by itself until closed). */
  events(handlers: { onEvent(e: ApiEvent): void; onOpen(): void; onError(): void }): EventStream {
    return this.client.events({ onEvent: (r) => handlers.onEvent(r.event), onOpen: handlers.onOpen, onError: handlers.onError });
  }

  // ---- workers, logs, artifacts
  async workers(signal?: AbortSignal): Promise<WorkerRow[]> {
    const r = await this.http.get<WorkerRow[] | { items?: WorkerRow[]; workers?: WorkerRow[] }>(`${API_PREFIX}/workers`, undefined, signal);
    return Array.isArray(r) ? r : (r.items ?? r.workers ?? []);
  }
  async artifacts(jobId: number, signal?: AbortSignal): Promise<Artifact[]> {
    const r = await this.http.get<Artifact[] | { items?: Artifact[]; artifacts?: Artifact[] }>(`${API_PREFIX}/jobs/${jobId}/artifacts`, undefined, signal);
    return Array.isArray(r) ? r : (r.items ?? r.artifacts ?? []);
  }
  /** Bytes [offset, offset+length) of a job's log, and how long the log is now. */
  async logRange(jobId: number, offset: number, length = LOG_RANGE_BYTES, signal?: AbortSignal): Promise<LogRange> {
    const end = offset + length - 1;
    const res = await this.http.raw('GET', `${API_PREFIX}/jobs/${jobId}/log`, {
      headers: { range: `bytes=${offset}-${end}` },
      query: { offset, length },
      signal,
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    let total = Number(res.headers.get('x-log-size') ?? res.headers.get('x-total-length') ?? NaN);
    let start = offset;
    const cr = res.headers.get('content-range');
    const m = cr && /bytes\s+(\d+)-(\d+)\/(\d+|\*)/.exec(cr);
    if (m) {
      start = Number(m[1]);
      if (m[3] !== '*') total = Number(m[3]);
    } else if (res.status === 200 && !res.headers.get('x-log-offset')) {
      // A server that ignored the range sent the whole log.
      start = 0;
    }
    const xo = res.headers.get('x-log-offset');
    if (xo) start = Number(xo);
    if (!Number.isFinite(total)) total = start + bytes.length;
    return { bytes, offset: start, total };
  }
  /** The last `length` bytes of the log, with its size, in one request (`?tail=`). */
  async logTail(jobId: number, length = LOG_RANGE_BYTES, signal?: AbortSignal): Promise<LogRange> {
    const res = await this.http.raw('GET', `${API_PREFIX}/jobs/${jobId}/log`, { query: { tail: length }, signal });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const total = Number(res.headers.get('x-log-size') ?? NaN);
    const start = Number(res.headers.get('x-log-offset') ?? NaN);
    if (!Number.isFinite(total) || !Number.isFinite(start)) throw new ApiError(res.status, 'the controller did not say where this part of the log lies (X-Log-Offset/X-Log-Size)');
    return { bytes, offset: start, total };
  }
  logStreamUrl(jobId: number, offset: number): string {
    return this.http.url(`${API_PREFIX}/jobs/${jobId}/log/stream`, { offset });
  }
  fileUrl(pathOrUrl: string): string {
    return /^https?:/.test(pathOrUrl) ? pathOrUrl : this.http.url(pathOrUrl.startsWith('/') ? pathOrUrl : `/${pathOrUrl}`);
  }
  eventsUrl(): string {
    return this.http.url(`${API_PREFIX}/events`);
  }

  // ---- launchpad-buildd style builders and source uploads (responses checked against the shared schemas)
  async builders(signal?: AbortSignal): Promise<BuilderInfo[]> {
    return BuilderInfo.array().parse(await this.http.get(builderRoutes.list, undefined, signal));
  }
  async registerBuilder(body: BuilderCreate): Promise<BuilderInfo> {
    return BuilderInfo.parse(await this.http.json('POST', builderRoutes.list, { json: body, auth: true }));
  }
  async patchBuilder(name: string, patch: BuilderPatch): Promise<BuilderInfo> {
    return BuilderInfo.parse(await this.http.json('PATCH', builderPath(name), { json: patch, auth: true }));
  }
  async deleteBuilder(name: string): Promise<void> {
    await this.http.raw('DELETE', builderPath(name), { auth: true });
  }
  /** A .dsc (or .changes) with the files it lists, sent as dput would, plus the optional target fields. */
  async uploadSource(files: File[], fields: Record<string, string>): Promise<UploadResponse> {
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) if (v) fd.append(k, v);
    for (const f of files) fd.append('file', f, f.name);
    return UploadResponse.parse(await this.http.json('POST', builderRoutes.uploads, { body: fd, auth: true }));
  }

  // ---- pyBit routes: lookups and mappings
  createLookup(kind: LookupKind, name: string): Promise<void> {
    return this.http.json('POST', `/${kind}`, { form: { name }, auth: true });
  }
  deleteRow(path: string, id: number): Promise<void> {
    return this.deleteAt(`/${path}/${id}`);
  }
  private async deleteAt(path: string): Promise<void> {
    try {
      await this.http.json('DELETE', path, { auth: true });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        throw new ApiError(409, 'cannot be deleted because other things depend on it');
      }
      throw e;
    }
  }
  createSuiteArch(suiteId: number, archId: number, masterWeight: number): Promise<void> {
    return this.http.json('POST', '/suitearch', { form: { suite_id: suiteId, arch_id: archId, master_weight: masterWeight }, auth: true });
  }
  createEnvSuiteArch(buildEnvId: number, suiteArchId: number): Promise<void> {
    return this.http.json('POST', '/buildenv_suitearch', { form: { buildenv_id: buildEnvId, suitearch_id: suiteArchId }, auth: true });
  }
  createBlacklist(field: string, regex: string): Promise<void> {
    return this.http.json('POST', '/blacklist', { form: { field, regex }, auth: true });
  }

  // ---- pyBit routes: packages, instances, build clients
  async packages(signal?: AbortSignal): Promise<PackageRow[]> {
    const rows = await this.http.get<Array<{ id: number; name: string; version: string }>>('/package', undefined, signal);
    return rows.map((r) => ({ id: r.id, name: r.name, version: r.version }));
  }
  async packageActive(id: number, signal?: AbortSignal): Promise<boolean> {
    const r = await this.http.raw('GET', `/package/${id}/active`, { signal });
    return (await r.text()).trim() === 'True';
  }
  createPackage(name: string, version: string): Promise<void> {
    return this.http.json('POST', '/package', { form: { name, version }, auth: true });
  }
  async cancelPackage(id: number): Promise<void> {
    await this.http.raw('GET', `/package/${id}/cancel`, { auth: true });
  }
  packageInstances(signal?: AbortSignal): Promise<PackageInstanceRow[]> {
    return this.http.get('/packageinstance', undefined, signal);
  }
  createPackageInstance(f: {
    package: string;
    version: string;
    arch_id: number;
    suite_id: number;
    dist_id: number;
    format_id: number;
    build_env_id: number | '';
    master: boolean;
  }): Promise<void> {
    const { master, ...rest } = f;
    return this.http.json('POST', '/packageinstance', { form: { ...rest, ...(master ? {} : { slave: 'on' }) }, auth: true });
  }
  async setMaster(id: number, master: boolean): Promise<void> {
    await this.http.raw('GET', `/packageinstance/${id}/togglemaster/${master ? 1 : 0}`, { auth: true });
  }
  buildClients(signal?: AbortSignal): Promise<BuildClientRow[]> {
    return this.http.get('/buildd', undefined, signal);
  }
  async buildClientActive(name: string, signal?: AbortSignal): Promise<boolean> {
    const r = await this.http.raw('GET', `/buildd/${encodeURIComponent(name)}/status`, { signal });
    return (await r.text()).trim() === 'Active';
  }
  createBuildClient(name: string): Promise<void> {
    return this.http.json('POST', '/buildd', { form: { name }, auth: true });
  }

  /** Checks the connection and the credential: a read, then (when logged in) an authenticated no-op. */
  async testConnection(): Promise<{ reachable: boolean; jobs: number; authenticated: boolean | null }> {
    const s = await this.stats();
    let authenticated: boolean | null = null;
    if (this.loggedIn) {
      try {
        // An empty bulk cancel is refused by validation (400) only after authentication (401).
        await this.http.json('POST', `${API_PREFIX}/jobs/cancel`, { json: {}, auth: true });
        authenticated = true;
      } catch (e) {
        authenticated = !(e instanceof ApiError && (e.status === 401 || e.status === 403));
      }
    }
    return { reachable: true, jobs: s.total, authenticated };
  }
}
