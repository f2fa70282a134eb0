import type { FastifyInstance } from 'fastify';
import type { AuthDeps } from '../pybit/common';

export function registerWorkerApi(app: FastifyInstance, deps: AuthDeps): void {
  void app;
  void deps;
}
