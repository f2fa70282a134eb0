// The web UI (src-renderer, built by Vite) served at `/`, with pyBit's page paths mapped to it.
import type { FastifyInstance } from 'fastify';
import type { AuthDeps } from './pybit/common';

export function registerUiRoutes(app: FastifyInstance, deps: AuthDeps): void {
  void app;
  void deps;
}
