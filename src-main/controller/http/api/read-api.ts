// The UI's and CLI's part of /api/v1 (jobs, stats, lookups, events, OpenAPI) and /metrics.
import type { FastifyInstance } from 'fastify';
import { apiRoutes } from '@shared/api';
import type { AuthDeps } from '../pybit/common';
import { createMetrics } from '../../metrics';
import { registerEventStream } from './read-events';
import { registerJobReads } from './read-jobs';
import { registerLookupsRead } from './read-lookups';
import { registerOpenApi } from './read-openapi';
import { registerStatsRead } from './read-stats';
import { registerJobWrites } from './jobs-write';

export function registerReadApi(app: FastifyInstance, deps: AuthDeps): void {
  registerJobReads(app, deps);
  registerJobWrites(app, deps);
  registerStatsRead(app, deps);
  registerLookupsRead(app, deps);
  registerEventStream(app, deps);
  registerOpenApi(app);

  const metrics = createMetrics(deps.ctx);
  app.addHook('onClose', (_app, done) => {
    metrics.close();
    done();
  });
  app.get(apiRoutes.metrics.path, async (_req, reply) => {
    const text = await metrics.render();
    return reply.header('content-type', metrics.contentType).send(text);
  });
}
