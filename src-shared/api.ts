// The JSON API under /api/v1 that the UI and the CLI use: zod schemas for every request and
// response, the SSE event union, and a route table. The controller validates with these schemas,
// the typed client parses with them, and the OpenAPI document is generated from them, so the
// three cannot drift apart.
import { z } from 'zod';
import { STATUSES } from './statuses';
import { activityRoute } from './activity-api';

export const API_PREFIX = '/api/v1';

/** Text that ends up in names, logs, queue names or file names: no control characters. */
/** Error messages for a missing value and a value of the wrong type. */
const typeError = (expected: string) => (iss: { code: string; input?: unknown }) =>
  iss.code === 'invalid_type' || iss.code === 'invalid_union'
    ? iss.input === undefined
      ? 'required'
      : `must be ${expected}`
    : undefined;

const text = (max: number) =>
  z
    .string({ error: typeError('a string') })
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, { error: 'must not contain control characters' });
const nonEmpty = (max: number) => text(max).min(1, { error: 'must not be empty' });

const id = z.number({ error: typeError('a number') }).int().positive();
const time = z.string().describe('ISO 8601 UTC time');

export const StatusName = z.enum(STATUSES, {
  error: (iss) => `'${String(iss.input).slice(0, 60)}' is not a job status; expected one of ${STATUSES.join(', ')}`,
});

export const ErrorResponse = z.object({ error: z.string(), statusCode: z.number().int() });
export type ErrorResponse = z.infer<typeof ErrorResponse>;

// ---- query-string helpers -------------------------------------------------------------------

/** A repeatable query parameter that also accepts comma-separated lists: `?status=A&status=B,C`. */
const repeatable = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) =>
      (Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    )
    .pipe(z.array(item).max(50));

/** `1`/`true` or `0`/`false`. */
const flag = z
  .enum(['0', '1', 'true', 'false'], { error: "expected '1', '0', 'true' or 'false'" })
  .transform((v) => v === '1' || v === 'true');

const idParam = z
  .string()
  .regex(/^[1-9]\d{0,14}$/, { error: 'must be a positive integer' })
  .transform(Number);

// ---- jobs -----------------------------------------------------------------------------------

export const JOB_LIST_DEFAULT_LIMIT = 50;
export const JOB_LIST_MAX_LIMIT = 500;

export const JobListQuery = z.strictObject({
  status: repeatable(StatusName).optional().describe('Latest status; repeat the parameter or give a comma-separated list.'),
  package: text(200).optional().describe('Source package name (exact).'),
  version: text(200).optional().describe('Package version (exact).'),
  arch: text(200).optional().describe('Architecture name (exact).'),
  suite: text(200).optional().describe('Suite name (exact).'),
  dist: text(200).optional().describe('Distribution name (exact).'),
  format: text(200).optional().describe('Format name (exact).'),
  environment: text(200).optional().describe('Build environment name (exact); empty selects jobs without an environment.'),
  client: text(200).optional().describe('Build client name (exact); empty selects jobs no client has taken.'),
  q: text(200).optional().describe('Case-insensitive substring of the package name, version or client name.'),
  limit: z.coerce
    .number({ error: typeError('a number') })
    .int({ error: 'must be an integer' })
    .min(1)
    .max(JOB_LIST_MAX_LIMIT)
    .default(JOB_LIST_DEFAULT_LIMIT)
    .describe(`Page size (default ${JOB_LIST_DEFAULT_LIMIT}, at most ${JOB_LIST_MAX_LIMIT}).`),
  cursor: z
    .string()
    .regex(/^c[0-9a-z]{1,12}$/, { error: 'is not a cursor returned by this API' })
    .optional()
    .describe('Opaque: the nextCursor of the previous page.'),
  counts: flag.optional().describe('Add counts by status (for every filter except status).'),
});
export type JobListQuery = z.output<typeof JobListQuery>;

/** Parameters of GET /api/v1/jobs as a caller writes them. */
export interface JobListParams {
  status?: StatusName | StatusName[];
  package?: string;
  version?: string;
  arch?: string;
  suite?: string;
  dist?: string;
  format?: string;
  environment?: string;
  client?: string;
  q?: string;
  limit?: number;
  cursor?: string;
  counts?: boolean;
}
export type StatusName = z.infer<typeof StatusName>;

/** Cursors are opaque to callers; inside they are the last id seen, base 36. */
export function encodeCursor(lastId: number): string {
  return `c${lastId.toString(36)}`;
}
export function decodeCursor(cursor: string): number {
  return parseInt(cursor.slice(1), 36);
}

export const JobSummary = z.object({
  id,
  package: z.string(),
  version: z.string(),
  arch: z.string(),
  suite: z.string(),
  dist: z.string(),
  format: z.string(),
  environment: z.string().nullable(),
  master: z.boolean(),
  status: z.string(),
  client: z.string().nullable(),
  result: z.string().nullable(),
  resultDetails: z.string().nullable(),
  createdAt: time,
  updatedAt: time,
  attempts: z.number().int(),
});
export type JobSummary = z.infer<typeof JobSummary>;

export const StatusCounts = z.record(z.string(), z.number().int()).describe('Job count per status name.');
export type StatusCounts = z.infer<typeof StatusCounts>;

export const JobListResponse = z.object({
  items: z.array(JobSummary),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
  total: z.number().int().describe('Jobs matching the filter (all pages).'),
  counts: StatusCounts.optional(),
});
export type JobListResponse = z.infer<typeof JobListResponse>;

export const JobHistoryEntry = z.object({ status: z.string(), time });
export type JobHistoryEntry = z.infer<typeof JobHistoryEntry>;

export const JobDetail = JobSummary.extend({
  packageinstanceId: id,
  history: z.array(JobHistoryEntry).describe('Status history, oldest first.'),
  transport: z.object({ method: z.string(), uri: z.string(), vcsId: z.string() }).nullable(),
  leaseOwner: z.string().nullable(),
  leaseExpiresAt: time.nullable(),
  retryAt: time.nullable(),
});
export type JobDetail = z.infer<typeof JobDetail>;

export const JobIdParams = z.strictObject({ id: idParam });

// ---- stats ----------------------------------------------------------------------------------

export const QueueDepth = z.object({
  queue: z.string().describe('`<dist>_<arch>_<suite>_<format>`, the RabbitMQ queue name.'),
  dist: z.string(),
  arch: z.string(),
  suite: z.string(),
  format: z.string(),
  depth: z.number().int().describe('Waiting jobs for this queue.'),
});
export type QueueDepth = z.infer<typeof QueueDepth>;

export const StatsResponse = z.object({
  counts: StatusCounts,
  total: z.number().int(),
  oldestWaitingSince: time.nullable(),
  oldestWaitingSeconds: z.number().nullable(),
  queues: z.array(QueueDepth),
});
export type StatsResponse = z.infer<typeof StatsResponse>;

// ---- lookups --------------------------------------------------------------------------------

export const NamedRow = z.object({ id, name: z.string() });
export const SuiteArchRow = z.object({
  id,
  suiteId: id,
  suite: z.string(),
  archId: id,
  arch: z.string(),
  masterWeight: z.number().int().describe('The highest weight in a suite is its master architecture.'),
});
export const BuildEnvSuiteArchRow = z.object({
  id,
  buildEnvId: id,
  buildEnv: z.string(),
  suiteArchId: id,
  suite: z.string(),
  arch: z.string(),
});
export const BlacklistRow = z.object({ id, field: z.string(), regex: z.string() });

export const LookupsResponse = z.object({
  arches: z.array(NamedRow),
  suites: z.array(NamedRow),
  distributions: z.array(NamedRow),
  formats: z.array(NamedRow),
  statuses: z.array(NamedRow),
  buildEnvs: z.array(NamedRow),
  suiteArches: z.array(SuiteArchRow),
  buildEnvSuiteArches: z.array(BuildEnvSuiteArchRow),
  blacklist: z.array(BlacklistRow),
});
export type LookupsResponse = z.infer<typeof LookupsResponse>;

// ---- writes ---------------------------------------------------------------------------------

export const SubmitForInstance = z.strictObject({
  packageinstanceId: id,
  method_type: nonEmpty(50).optional().describe('Transport method; with uri and vcs_id, overrides the last transport used for this instance.'),
  uri: text(4096).optional(),
  vcs_id: text(200).optional(),
});
export type SubmitForInstance = z.infer<typeof SubmitForInstance>;

export const SubmitFromHook = z.strictObject({
  package: nonEmpty(200).describe('Source package name.'),
  version: nonEmpty(200),
  arch_list: z
    .union([nonEmpty(1000), z.array(nonEmpty(100)).min(1).max(100)], { error: typeError('a string or a list of architecture names') })
    .describe("pyBit's architecture_list: 'any', 'all', 'linux-any', or explicit names (a list or comma-separated)."),
  dist: nonEmpty(200),
  suite: nonEmpty(200),
  format: nonEmpty(200),
  method_type: nonEmpty(50).describe('Transport: svn, git, apt, dsc, …'),
  uri: text(4096).default('').describe('Source location; may be empty only for apt.'),
  vcs_id: text(200).default(''),
  environment: nonEmpty(200).nullable().optional().describe('Build only in this environment; null = only without one; absent = every mapped one.'),
});
export type SubmitFromHook = z.infer<typeof SubmitFromHook>;

export const SubmitJobRequest = z.union([SubmitForInstance, SubmitFromHook]);
export type SubmitJobRequest = z.input<typeof SubmitJobRequest>;

/**
 * Parses a submission: a body naming `packageinstanceId` is a submission for that instance,
 * anything else is the vcshook shape. (A plain union would report both shapes' errors at once.)
 */
export function parseSubmitJob(body: unknown): { kind: 'instance'; value: SubmitForInstance } | { kind: 'hook'; value: SubmitFromHook } {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'packageinstanceId' in body) {
    return { kind: 'instance', value: SubmitForInstance.parse(body) };
  }
  return { kind: 'hook', value: SubmitFromHook.parse(body ?? {}) };
}

export const SubmitJobResponse = z.object({
  jobIds: z.array(id).describe('The jobs created, one per selected architecture and environment.'),
  superseded: z.array(id).describe('Older unfinished jobs for the same targets that were cancelled.'),
});
export type SubmitJobResponse = z.infer<typeof SubmitJobResponse>;

export const CancelJobResponse = z.object({
  id,
  status: z.string().describe('Cancelled, or Building while the build client is asked to stop.'),
  cancelRequested: z.boolean().describe('True when a CancelRequest went to the build client.'),
});
export type CancelJobResponse = z.infer<typeof CancelJobResponse>;

export const RetryJobResponse = z.object({ id, status: z.string() });
export type RetryJobResponse = z.infer<typeof RetryJobResponse>;

export const BULK_CANCEL_MAX = 10_000;
export const CANCEL_ALL_CONFIRMATION = 'cancel-all';

export const BulkCancelRequest = z
  .strictObject({
    ids: z.array(id).min(1).max(BULK_CANCEL_MAX).optional(),
    all: z.literal(true, { error: 'must be true' }).optional(),
    confirm: z.literal(CANCEL_ALL_CONFIRMATION, { error: `must be '${CANCEL_ALL_CONFIRMATION}'` }).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.ids && v.all) ctx.addIssue({ code: 'custom', path: ['all'], message: "give either 'ids' or 'all', not both" });
    else if (!v.ids && !v.all) ctx.addIssue({ code: 'custom', path: ['ids'], message: "required: a list of job ids (or 'all': true)" });
    else if (v.all && v.confirm !== CANCEL_ALL_CONFIRMATION) {
      ctx.addIssue({ code: 'custom', path: ['confirm'], message: `must be '${CANCEL_ALL_CONFIRMATION}' to cancel every unfinished job` });
    }
  });
export type BulkCancelRequest = z.input<typeof BulkCancelRequest>;

export const BulkCancelResponse = z.object({
  cancelled: z.array(id).describe('Marked Cancelled now.'),
  cancelRequested: z.array(id).describe('Building: their build clients were asked to stop.'),
  skipped: z.array(z.object({ id, reason: z.string() })).describe('Unknown or already finished.'),
});
export type BulkCancelResponse = z.infer<typeof BulkCancelResponse>;

// ---- events (SSE) ---------------------------------------------------------------------------

export const EventsQuery = z.strictObject({
  job: idParam.optional().describe('Only events about this job.'),
  lastEventId: z
    .string()
    .regex(/^\d{1,15}$/, { error: 'must be an event id' })
    .transform(Number)
    .optional()
    .describe('Replay buffered events after this id (the Last-Event-ID header does the same).'),
});

export const ApiEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('job.created'), jobId: id, status: z.string() }),
  z.object({ type: z.literal('job.status'), jobId: id, status: z.string(), previous: z.string().nullable(), client: z.string().nullable() }),
  z.object({ type: z.literal('job.deleted'), jobId: id }),
  z.object({ type: z.literal('job.log'), jobId: id, offset: z.number().int(), length: z.number().int() }),
  z.object({ type: z.literal('worker.seen'), name: z.string(), at: z.string() }),
]);
export type ApiEvent = z.infer<typeof ApiEvent>;
export type ApiEventType = ApiEvent['type'];
export const API_EVENT_TYPES: readonly ApiEventType[] = ['job.created', 'job.status', 'job.deleted', 'job.log', 'worker.seen'];

/** Seconds between SSE heartbeat comments. */
export const SSE_HEARTBEAT_SECONDS = 15;

// ---- route table ----------------------------------------------------------------------------

export interface ApiRoute {
  method: 'GET' | 'POST';
  /** OpenAPI-style path (`{id}`). */
  path: string;
  summary: string;
  /** Needs a user credential (Basic or Bearer). */
  auth?: boolean;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  /** Success status when not 200. */
  status?: number;
  /** Non-JSON responses. */
  produces?: 'text/event-stream' | 'text/plain';
}

export const apiRoutes = {
  listJobs: { method: 'GET', path: '/api/v1/jobs', summary: 'List jobs, newest first, with filters and cursor pagination', query: JobListQuery, response: JobListResponse },
  getJob: { method: 'GET', path: '/api/v1/jobs/{id}', summary: 'A job with its status history', params: JobIdParams, response: JobDetail },
  stats: { method: 'GET', path: '/api/v1/stats', summary: 'Job counts by status, oldest Waiting job, queue depths', response: StatsResponse },
  activity: activityRoute,
  lookups: { method: 'GET', path: '/api/v1/lookups', summary: 'Arches, suites, distributions, formats, statuses, environments and their mappings', response: LookupsResponse },
  submitJob: { method: 'POST', path: '/api/v1/jobs', summary: 'Submit a build (vcshook fields, or an existing package instance)', auth: true, body: SubmitJobRequest, response: SubmitJobResponse, status: 201 },
  cancelJob: { method: 'POST', path: '/api/v1/jobs/{id}/cancel', summary: 'Cancel an unfinished job (409 when finished)', auth: true, params: JobIdParams, response: CancelJobResponse },
  retryJob: { method: 'POST', path: '/api/v1/jobs/{id}/retry', summary: 'Put a Failed, Cancelled or Blocked job back to Waiting and dispatch it again', auth: true, params: JobIdParams, response: RetryJobResponse },
  cancelJobs: { method: 'POST', path: '/api/v1/jobs/cancel', summary: "Cancel several jobs, or every unfinished one with {all: true, confirm: 'cancel-all'}", auth: true, body: BulkCancelRequest, response: BulkCancelResponse },
  events: { method: 'GET', path: '/api/v1/events', summary: 'Server-Sent Events: job.created, job.status, job.deleted, job.log, worker.seen', query: EventsQuery, response: ApiEvent, produces: 'text/event-stream' },
  openapi: { method: 'GET', path: '/api/v1/openapi.json', summary: 'This document' },
  metrics: { method: 'GET', path: '/metrics', summary: 'Prometheus metrics', produces: 'text/plain' },
} as const satisfies Record<string, ApiRoute>;

/** `/api/v1/jobs/{id}` → `/api/v1/jobs/:id` (Fastify's syntax). */
export function routerPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}
