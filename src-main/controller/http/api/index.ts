// The JSON API under /api/v1 used by the UI, the CLI and Buildbox workers.
import type { FastifyInstance } from 'fastify';
import type { AuthDeps } from '../pybit/common';

export function registerApiRoutes(app: FastifyInstance, deps: AuthDeps): void {
  void app;
  void deps;
}
