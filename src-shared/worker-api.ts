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
  status: z.string(),
});

export const FinishRequest = z.object({
  worker: z.string().min(1).max(200),
  status: z.enum(['Done', 'Failed', 'Blocked', 'Cancelled', 'Uploaded']),
  result: z.enum(RESULT_CATEGORIES).optional(),
  /** Missing dependencies for DEPFAIL, or a short failure message. */
  details: z.string().max(10_000).optional(),
});
export type FinishRequest = z.infer<typeof FinishRequest>;

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

export const ArtifactInfo = z.object({
  name: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  sha1: z.string(),
  url: z.string(),
});
export type ArtifactInfo = z.infer<typeof ArtifactInfo>;

/** Worker endpoint paths under the controller's base URL. */
export const workerPaths = {
  claim: (id: number) => `/api/v1/jobs/${id}/claim`,
  heartbeat: (id: number) => `/api/v1/jobs/${id}/heartbeat`,
  finish: (id: number) => `/api/v1/jobs/${id}/finish`,
  log: (id: number) => `/api/v1/jobs/${id}/log`,
  artifacts: (id: number) => `/api/v1/jobs/${id}/artifacts`,
  hello: '/api/v1/workers/hello',
} as const;
