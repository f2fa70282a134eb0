// The JSON API under /api/v1 used by the UI, the CLI and Buildbox workers, plus /metrics and the
// librarian's /files. Each part lives in its own module.
import type { FastifyInstance } from 'fastify';
import type { AuthDeps } from '../pybit/common';
import { registerReadApi } from './read-api';
import { registerWorkerApi } from './worker-api';
import { registerBuildersApi } from './builders-api';
import { registerChrootsApi } from './chroots-api';
import { registerUploadsApi } from './uploads-api';
import { registerHooksApi } from './hooks-api';
import { registerRepositoriesApi } from './repositories-api';
import { registerUsersApi } from './users-api';

export function registerApiRoutes(app: FastifyInstance, deps: AuthDeps): void {
  registerReadApi(app, deps);
  registerWorkerApi(app, deps);
  registerBuildersApi(app, deps);
  registerChrootsApi(app, deps);
  registerUploadsApi(app, deps);
  registerHooksApi(app, deps);
  registerRepositoriesApi(app, deps);
  registerUsersApi(app, deps);
}
