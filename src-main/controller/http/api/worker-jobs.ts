// The worker's job protocol: hello, claim, heartbeat, finish; and the worker list the UI shows.
import type { FastifyInstance } from 'fastify';
import { ClaimRequest, FinishRequest, HeartbeatRequest, WorkerHello, workerPaths, type ClaimResponse } from '@shared/worker-api';
import type { AuthDeps } from '../pybit/common';
import { claimJob, finishJob, heartbeat } from '../../domain/claim';
import { listWorkers, workerHello } from '../../domain/worker-registry';
import { authed, guard, jobIdParam, sendApiJson } from './worker-common';
import type { WorkerStores } from './worker-api';

/** The Fastify route of a worker path: the job id becomes `:id`. */
const route = (path: (id: number) => string) => path(1234567).replace('/1234567/', '/:id/');

export function registerWorkerJobRoutes(app: FastifyInstance, deps: AuthDeps, stores: WorkerStores): void {
  const { ctx } = deps;

  app.post(
    workerPaths.hello,
    authed(deps, async (req, reply, who) => {
      const hello = WorkerHello.parse(req.body ?? {});
      return sendApiJson(reply, await workerHello(ctx, hello, who.name));
    }),
  );

  app.get(
    workerPaths.workers,
    guard(async (_req, reply) => sendApiJson(reply, await listWorkers(ctx))),
  );

  app.post(
    route(workerPaths.claim),
    authed(deps, async (req, reply) => {
      const id = jobIdParam(req);
      const { worker } = ClaimRequest.parse(req.body ?? {});
      // The new attempt writes its log from offset 0; the previous attempt's log is kept aside
      // (before the Building event, so live readers start on the new log).
      const claim = await claimJob(ctx, id, worker, () => stores.logs.rotate(id));
      const res: ClaimResponse = { jobId: claim.jobId, request: claim.request, leaseSeconds: claim.leaseSeconds, leaseExpiresAt: claim.leaseExpiresAt };
      return sendApiJson(reply, res);
    }),
  );

  app.post(
    route(workerPaths.heartbeat),
    authed(deps, async (req, reply) => {
      const id = jobIdParam(req);
      const { worker } = HeartbeatRequest.parse(req.body ?? {});
      return sendApiJson(reply, await heartbeat(ctx, id, worker));
    }),
  );

  app.post(
    route(workerPaths.finish),
    authed(deps, async (req, reply) => {
      const id = jobIdParam(req);
      const body = FinishRequest.parse(req.body ?? {});
      return sendApiJson(reply, await finishJob(ctx, id, body));
    }),
  );
}
