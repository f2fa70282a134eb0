// GET/PUT /api/v1/local-worker on the controller `buildbox box` runs: the local worker's
// settings and process state for anyone to read; changes for administrators only. `serve` does
// not register these routes, so there the path is a 404 and the UI leaves the section out.
import type { FastifyInstance } from 'fastify';
import { LOCAL_WORKER_PATH, LocalWorkerPatch, type LocalWorkerInfo } from '@shared/local-worker-api';
import type { AuthDeps } from '../controller/http/pybit/common';
import { HttpError } from '../controller/http/errors';
import { parseBody, requireAdmin } from '../controller/http/api/read-common';

/** What the routes need of the local worker (BoxLocalWorker in `box`). */
export interface LocalWorkerControl {
  info(): LocalWorkerInfo;
  /** Validates, saves and applies; resolves once the worker runs (or is stopped) as asked. */
  update(patch: LocalWorkerPatch): Promise<LocalWorkerInfo>;
}

export function registerLocalWorkerApi(app: FastifyInstance, deps: AuthDeps, worker: LocalWorkerControl): void {
  app.get(LOCAL_WORKER_PATH, async () => worker.info());

  app.put(LOCAL_WORKER_PATH, async (req, reply) => {
    // It runs processes on the controller's host with a chosen backend and directory.
    await requireAdmin(deps, req, reply, 'change the local worker');
    const body = req.body;
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpError(400, 'send a JSON object with any of: enabled, backend, suites, chroots, slots');
    }
    return worker.update(parseBody(LocalWorkerPatch, body));
  });
}
