// The endpoints Buildbox workers call (src-shared/worker-api.ts): hello, claim, heartbeat,
// finish, log chunks and artifacts; plus the public reads beside them (worker list, logs and
// their live tail, artifact lists) and the librarian (/api/v1/files, /files/<sha1>/<name>).
// They live in a scope of their own so that raw bodies reach the handlers as streams.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { join } from 'node:path';
import type { AuthDeps } from '../pybit/common';
import { FileStore } from '../../store/file-store';
import { LogStore } from '../../store/log-store';
import { registerWorkerJobRoutes } from './worker-jobs';
import { registerWorkerLogRoutes } from './worker-logs';
import { registerWorkerArtifactRoutes } from './worker-artifacts';
import { registerFilesApi } from './files-api';

export interface WorkerStores {
  logs: LogStore;
  files: FileStore;
}

export function registerWorkerApi(app: FastifyInstance, deps: AuthDeps): void {
  app.register(async (scope) => {
    // Log chunks and uploads are byte streams: hand the body over unread (text/plain too, so
    // that a UTF-8 character split across two chunks is not mangled; multipart too, so that
    // file names survive and files are not buffered by the root parser).
    scope.removeContentTypeParser(['text/plain', 'multipart/form-data']);
    const passThrough = (_req: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => done(null, payload);
    scope.addContentTypeParser(['application/octet-stream', 'text/plain', 'multipart/form-data'], passThrough);
    scope.addContentTypeParser('*', passThrough);

    const dataDir = deps.ctx.config.dataDir;
    const stores: WorkerStores = { logs: new LogStore(join(dataDir, 'logs')), files: new FileStore(join(dataDir, 'files')) };
    registerWorkerJobRoutes(scope, deps, stores);
    registerWorkerLogRoutes(scope, deps, stores);
    registerWorkerArtifactRoutes(scope, deps, stores);
    registerFilesApi(scope, deps, stores);
  });
}
