// The contract between a Buildbox worker and the controller's /api/v1 worker endpoints.
// Both sides import these schemas, so "find references" shows the server and the worker together.
import { z } from 'zod';
import { RESULT_CATEGORIES } from './statuses';

export const ClaimRequest = z.object({
  /** The worker's client name, `build_client_<id>`. */
  worker: z.string().min(1).max(200),
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const ClaimResponse = z.object({
  jobId: z.number().int(),
  /** The job's BuildRequest, as the AMQP message carries it (jsonpickle-shaped). */
  request: z.unknown(),
  leaseSeconds: z.number(),
  leaseExpiresAt: z.string(),
});
export type ClaimResponse = z.infer<typeof ClaimResponse>;

export const HeartbeatRequest = z.object({ worker: z.string().min(1).max(200) });
export const HeartbeatResponse = z.object({
  leaseExpiresAt: z.string().nullable(),
  /** True when the job was cancelled or the lease was lost: stop building. */
  stop: z.boolean(),
  /** The job's status; `Cancelled` while a requested cancel waits for the worker to stop. */
  status: z.string(),
  /** Why `stop` is set: the job was cancelled, or the lease is gone (expired, requeued, someone else's). */
  reason: z.enum(['cancelled', 'lease-lost']).optional(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

/** The 409 body of a refused claim, heartbeat, finish, log chunk or artifact upload. */
export const WorkerConflict = z.object({
  error: z.string(),
  statusCode: z.number().int(),
  /** The job's current status. */
  status: z.string().optional(),
  /** Worker holding the lease, if any. */
  leaseOwner: z.string().nullable().optional(),
  /** Log chunks: the length the controller has, i.e. the offset to send next. */
  length: z.number().int().optional(),
});
export type WorkerConflict = z.infer<typeof WorkerConflict>;

export const FinishRequest = z.object({
  worker: z.string().min(1).max(200),
  status: z.enum(['Done', 'Failed', 'Blocked', 'Cancelled', 'Uploaded']),
  result: z.enum(RESULT_CATEGORIES).optional(),
  /** Missing dependencies for DEPFAIL, or a short failure message. */
  details: z.string().max(10_000).optional(),
});
export type FinishRequest = z.infer<typeof FinishRequest>;

export const FinishResponse = z.object({
  /** The job's status after the report: GIVENBACK puts it back to Waiting. */
  status: z.string(),
  result: z.string().nullable(),
  /** Blocked (DEPFAIL) jobs: when the controller will dispatch it again. */
  retryAt: z.string().nullable(),
  /** True when this exact report had already been accepted. */
  repeated: z.boolean(),
});
export type FinishResponse = z.infer<typeof FinishResponse>;

export const WorkerHello = z.object({
  name: z.string().min(1).max(200),
  arch: z.string().min(1).max(100),
  dist: z.string().max(100).optional(),
  format: z.string().max(100).optional(),
  suites: z.array(z.string().max(100)).max(100).optional(),
  backend: z.string().max(50).optional(),
  slots: z.number().int().min(1).max(64).optional(),
  state: z.enum(['idle', 'building', 'stopping']).optional(),
  currentJobs: z.array(z.number().int()).max(64).optional(),
  version: z.string().max(100).optional(),
});
export type WorkerHello = z.infer<typeof WorkerHello>;

export const WorkerHelloResponse = z.object({
  /** Say hello again at least this often; a worker unseen for 3 periods is shown offline. */
  heartbeatSeconds: z.number(),
  leaseSeconds: z.number(),
  serverTime: z.string(),
});
export type WorkerHelloResponse = z.infer<typeof WorkerHelloResponse>;

/** GET /api/v1/workers: one entry per worker that ever said hello. */
export const WorkerInfo = z.object({
  name: z.string(),
  arch: z.string(),
  dist: z.string().nullable(),
  format: z.string().nullable(),
  suites: z.array(z.string()),
  backend: z.string().nullable(),
  slots: z.number().int(),
  /** The reported state, or `offline` when not seen for 3 heartbeat periods. */
  state: z.enum(['idle', 'building', 'stopping', 'offline']),
  online: z.boolean(),
  /** Jobs this worker holds a lease on (from the database). */
  currentJobs: z.array(z.number().int()),
  /** The first of currentJobs, or null. */
  currentJob: z.number().int().nullable(),
  /** Jobs the worker said it was building in its last hello. */
  reportedJobs: z.array(z.number().int()),
  version: z.string().nullable(),
  firstSeen: z.string(),
  lastSeen: z.string(),
});
export type WorkerInfo = z.infer<typeof WorkerInfo>;

/** Answer to a log chunk: the controller's log length after it (the next offset to send). */
export const LogAppendResponse = z.object({ length: z.number().int() });
export type LogAppendResponse = z.infer<typeof LogAppendResponse>;

/**
 * Data of a `log` event on the log SSE stream (`id:` is `next`, so Last-Event-ID resumes).
 * `text` is the UTF-8 decoding of bytes [offset, next); a character split across chunks is
 * carried into the next event. The stream ends with an `end` event ({ status, length }).
 */
export const LogChunkEvent = z.object({ offset: z.number().int(), next: z.number().int(), text: z.string() });
export type LogChunkEvent = z.infer<typeof LogChunkEvent>;
export const LogEndEvent = z.object({ status: z.string(), length: z.number().int() });
export type LogEndEvent = z.infer<typeof LogEndEvent>;

/** POST /api/v1/files: where the librarian stored a file. */
export const FileInfo = z.object({ sha1: z.string(), sha256: z.string(), size: z.number().int(), url: z.string() });
export type FileInfo = z.infer<typeof FileInfo>;

export const ArtifactInfo = z.object({
  name: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  sha1: z.string(),
  url: z.string(),
});
export type ArtifactInfo = z.infer<typeof ArtifactInfo>;

/** Answer to an artifact upload: the (first) artifact's fields, plus every stored one. */
export const ArtifactUploadResponse = ArtifactInfo.extend({ artifacts: z.array(ArtifactInfo) });
export type ArtifactUploadResponse = z.infer<typeof ArtifactUploadResponse>;

/**
 * Raw-body worker writes (log chunks, artifacts) name the worker in the `worker` query
 * parameter or in this header; only the job's lease owner may write.
 */
export const WORKER_HEADER = 'x-buildbox-worker';

/**
 * Worker endpoint paths under the controller's base URL.
 * - log: PUT/POST `?offset=N&worker=W` with a raw chunk (application/octet-stream or
 *   text/plain) → LogAppendResponse; a resent chunk is accepted without change, a gap is a 409
 *   with `length`. GET `?offset=&length=` reads a byte range (header X-Log-Length: total).
 * - logStream: SSE of `log` events (LogChunkEvent) from `?offset=`, then `end` (LogEndEvent).
 * - artifacts: POST (multipart, or raw with `?name=`) or PUT artifact(id, name) with a raw body,
 *   `?worker=W` and optionally `&sha256=` (checked) → ArtifactUploadResponse; GET lists ArtifactInfo[].
 * - files: POST (multipart, or raw with `?name=`) → FileInfo; file(sha1, name) serves it (Range).
 */
export const workerPaths = {
  claim: (id: number) => `/api/v1/jobs/${id}/claim`,
  heartbeat: (id: number) => `/api/v1/jobs/${id}/heartbeat`,
  finish: (id: number) => `/api/v1/jobs/${id}/finish`,
  log: (id: number) => `/api/v1/jobs/${id}/log`,
  logStream: (id: number) => `/api/v1/jobs/${id}/log/stream`,
  artifacts: (id: number) => `/api/v1/jobs/${id}/artifacts`,
  artifact: (id: number, name: string) => `/api/v1/jobs/${id}/artifacts/${encodeURIComponent(name)}`,
  hello: '/api/v1/workers/hello',
  workers: '/api/v1/workers',
  files: '/api/v1/files',
  file: (sha1: string, name: string) => `/files/${sha1}/${encodeURIComponent(name)}`,
} as const;
