// A job's artifacts: the lease owner uploads files (into the librarian) and anyone lists them.
import type { FastifyInstance } from 'fastify';
import { workerPaths, type ArtifactInfo } from '@shared/worker-api';
import type { AuthDeps } from '../pybit/common';
import { HttpError } from '../errors';
import { nowText } from '../../db/time';
import { WorkerConflictError } from '../../domain/claim';
import { authed, guard, jobIdParam, publicBase, sendApiJson, workerOf } from './worker-common';
import { fileUrl, storeUpload } from './files-api';
import type { WorkerStores } from './worker-api';

const route = (path: (id: number) => string) => path(1234567).replace('/1234567/', '/:id/');

export function registerWorkerArtifactRoutes(app: FastifyInstance, deps: AuthDeps, stores: WorkerStores): void {
  const { ctx } = deps;
  const db = ctx.db.kysely;

  async function requireLease(id: number, worker: string): Promise<void> {
    const job = await db.selectFrom('job').select(['status', 'lease_owner']).where('id', '=', id).executeTakeFirst();
    if (!job) throw new HttpError(404, `no job ${id}`);
    if (job.status !== 'Building' || job.lease_owner !== worker) {
      throw new WorkerConflictError(`job ${id}: only the lease owner may upload artifacts, and ${worker} is not it (status ${job.status})`, {
        status: job.status,
        leaseOwner: job.lease_owner,
      });
    }
  }

  const upload = (fromPath: boolean) =>
    authed(deps, async (req, reply) => {
      const id = jobIdParam(req);
      const worker = workerOf(req);
      await requireLease(id, worker);
      const stored = await storeUpload(req, stores, deps, fromPath ? (req.params as { name: string }).name : undefined);
      const now = nowText();
      await db.transaction().execute(async (tx) => {
        // Still ours? The lease may have been swept while the bytes were arriving.
        const job = await tx.selectFrom('job').select(['status', 'lease_owner']).where('id', '=', id).executeTakeFirst();
        if (!job || job.status !== 'Building' || job.lease_owner !== worker) {
          throw new WorkerConflictError(`job ${id}: the lease of ${worker} ended during the upload`, { status: job?.status, leaseOwner: job?.lease_owner ?? null });
        }
        for (const s of stored) {
          const row = { sha1: s.sha1, sha256: s.sha256, size: s.size, created_at: now };
          await tx
            .insertInto('artifacts')
            .values({ job_id: id, name: s.name, ...row })
            .onConflict((oc) => oc.columns(['job_id', 'name']).doUpdateSet(row))
            .execute();
        }
      });
      const base = publicBase(req, ctx.config.baseUrl);
      const infos: ArtifactInfo[] = stored.map((s) => ({ name: s.name, size: s.size, sha1: s.sha1, sha256: s.sha256, url: fileUrl(base, s.sha1, s.name) }));
      return sendApiJson(reply, { ...infos[0]!, artifacts: infos });
    });

  app.post(route(workerPaths.artifacts), upload(false));
  app.put(route((id) => workerPaths.artifact(id, 'NAME')).replace('/NAME', '/:name'), upload(true));
  app.post(route((id) => workerPaths.artifact(id, 'NAME')).replace('/NAME', '/:name'), upload(true));

  app.get(
    route(workerPaths.artifacts),
    guard(async (req, reply) => {
      const id = jobIdParam(req);
      const job = await db.selectFrom('job').select('id').where('id', '=', id).executeTakeFirst();
      if (!job) throw new HttpError(404, `no job ${id}`);
      const rows = await db.selectFrom('artifacts').selectAll().where('job_id', '=', id).orderBy('name').execute();
      const base = publicBase(req, ctx.config.baseUrl);
      const list: ArtifactInfo[] = rows.map((r) => ({ name: r.name, size: Number(r.size), sha1: r.sha1, sha256: r.sha256, url: fileUrl(base, r.sha1, r.name) }));
      return sendApiJson(reply, list);
    }),
  );
}
