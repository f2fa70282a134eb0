// Builds and starts one controller: database, outbox publisher, HTTP server. Every mode (serve,
// box, the desktop app) starts exactly this; only options differ.
import Fastify, { type FastifyInstance, type FastifyError, type FastifyReply } from 'fastify';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ZodError } from 'zod';
import { openDatabase, type Db } from './db/connect';
import { seed, type SeedResult } from './db/seed';
import { EventBus } from './events';
import { createLogger, type Logger } from './logger';
import type { ControllerConfig, Ctx } from './context';
import { createStatusCache } from './status-cache';
import { Authenticator } from './auth/auth';
import { HttpError } from './http/errors';
import { isForeignKeyViolation, isUniqueViolation } from './db/errors';
import { registerLookupRoutes } from './http/pybit/lookups';
import { registerMappingRoutes } from './http/pybit/mappings';
import { registerJobRoutes } from './http/pybit/jobs';
import { registerPackageRoutes } from './http/pybit/packages';
import { registerApiRoutes } from './http/api/index';
import { registerUiRoutes } from './http/ui';
import type { AuthDeps } from './http/pybit/common';
import { registerRepoRoutes } from './publish/repo-routes';
import { startServices } from './services';
import { AmqpLink } from './dispatch/amqp-link';
import { OutboxPublisher } from './dispatch/outbox-publisher';
import { isQueueHeld } from './dispatch/queue-probe';

export interface ControllerOptions {
  /** SQLite file path or postgres:// URL. */
  db?: string;
  /** AMQP URL, or null for no broker. */
  amqp?: string | null;
  host?: string;
  port?: number;
  dataDir: string;
  /** Host:port put into messages' web_host; defaults to the bound address. */
  publicHost?: string;
  adminPassword?: string;
  sampleData?: boolean;
  leaseSeconds?: number;
  /** DEPFAIL retry back-off (ControllerConfig). */
  retryBaseSeconds?: number;
  retryMaxSeconds?: number;
  sweepIntervalMs?: number;
  /** Lost BuildRequest check (ControllerConfig). */
  lostRequestCheckMs?: number;
  lostRequestGraceMs?: number;
  /** Builder scanner (ControllerConfig). */
  scanIntervalMs?: number;
  builderCancelTimeoutMs?: number;
  /** Publish Done jobs into reprepro repositories served at /repo/ (optionally signed with signKey). */
  publish?: boolean;
  signKey?: string;
  gnupgHome?: string;
  publishRetryBaseMs?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'silent';
  /** Outbox publisher tuning (tests). */
  publisher?: { pollMs?: number; retryBaseMs?: number };
  /** Routes of the mode that starts the controller (box: its local worker), added before it listens. */
  routes?: (app: FastifyInstance, deps: AuthDeps) => void;
}

export interface Controller {
  app: FastifyInstance;
  ctx: Ctx;
  auth: Authenticator;
  url: string;
  port: number;
  seedResult: SeedResult;
  publisher: OutboxPublisher | null;
  link: AmqpLink | null;
  close(): Promise<void>;
}

export const DEFAULT_AMQP = 'amqp://guest:guest@127.0.0.1:5672/';

export async function startController(opts: ControllerOptions): Promise<Controller> {
  const log = createLogger('controller', opts.logLevel ?? 'info');
  const dbUrl = opts.db ?? join(opts.dataDir, 'buildbox.db');
  const db = await openDatabase(dbUrl);
  let closed = false;
  let auth: Authenticator | undefined;
  try {
    const seedResult = await seed(db, { adminPassword: opts.adminPassword, sampleData: opts.sampleData });
    const events = new EventBus();
    const host = opts.host ?? '127.0.0.1';
    const amqpUrl = opts.amqp === undefined ? DEFAULT_AMQP : opts.amqp;
    const link = amqpUrl ? new AmqpLink(amqpUrl, log) : null;
    const config: ControllerConfig = {
      webHost: opts.publicHost ?? '',
      baseUrl: '',
      amqpUrl,
      dataDir: opts.dataDir,
      leaseSeconds: opts.leaseSeconds ?? 60,
      retryBaseSeconds: opts.retryBaseSeconds,
      retryMaxSeconds: opts.retryMaxSeconds,
      sweepIntervalMs: opts.sweepIntervalMs,
      lostRequestCheckMs: opts.lostRequestCheckMs,
      lostRequestGraceMs: opts.lostRequestGraceMs,
      scanIntervalMs: opts.scanIntervalMs,
      builderCancelTimeoutMs: opts.builderCancelTimeoutMs,
      publish: opts.publish ? { signKey: opts.signKey, gnupgHome: opts.gnupgHome, retryBaseMs: opts.publishRetryBaseMs } : null,
    };
    const ctx: Ctx = {
      db,
      config,
      events,
      log,
      statuses: createStatusCache(db),
      isQueueHeld: async (queue) => (link ? isQueueHeld(link, queue) : false),
    };
    auth = new Authenticator(db, { listen: { url: dbUrl, log } });
    const app = buildApp(ctx, auth, opts.routes);
    await app.listen({ host, port: opts.port ?? 8080 });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
    const shownHost = host === '0.0.0.0' || host === '::' ? hostname() : host;
    config.baseUrl = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
    if (!config.webHost) config.webHost = `${shownHost}:${port}`;

    let publisher: OutboxPublisher | null = null;
    if (link) {
      const p = (publisher = new OutboxPublisher({ db, link, log, events, ...opts.publisher }));
      ctx.outboxStats = () => p.stats();
      link.start();
      publisher.start();
    }
    const services = startServices({ ctx, publisher, link });
    return {
      app,
      ctx,
      auth,
      url: config.baseUrl,
      port,
      seedResult,
      publisher,
      link,
      async close() {
        if (closed) return;
        closed = true;
        await app.close();
        await services.stop();
        await publisher?.stop();
        await link?.stop();
        await auth?.close();
        await db.close();
      },
    };
  } catch (e) {
    if (!closed) {
      await auth?.close();
      await db.close();
    }
    throw e;
  }
}

const CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';

export function buildApp(ctx: Ctx, auth: Authenticator, routes?: (app: FastifyInstance, deps: AuthDeps) => void): FastifyInstance {
  const app = Fastify({
    logger: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    bodyLimit: 10 * 1024 * 1024,
    // close() must not wait for idle keep-alive clients or open SSE/download streams.
    forceCloseConnections: true,
    // Errors Fastify raises before routing (a malformed %-escape in the path) skip the hooks and
    // the error handler; answer them the same way: a 4xx naming the problem, with CORS headers.
    frameworkErrors: (err, req, res) => {
      const reply = res as unknown as FastifyReply;
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      reply
        .code(status)
        .header('access-control-allow-origin', '*')
        .header('access-control-allow-methods', CORS_METHODS);
      if (req.url.startsWith('/api/')) return reply.header('content-type', 'application/json').send(JSON.stringify({ error: err.message, statusCode: status }));
      return reply.header('content-type', 'text/html').send(`${status} - ${err.message}`);
    },
  });
  app.register(formbody);
  app.register(multipart, { attachFieldsToBody: 'keyValues', limits: { fileSize: 1024 * 1024, files: 20, fields: 100 } });

  app.addHook('onSend', async (req, reply, payload) => {
    // pyBit clients compare the JSON Content-Type string exactly; Fastify appends a charset.
    if (!req.url.startsWith('/api/') && String(reply.getHeader('content-type')).startsWith('application/json')) {
      reply.header('content-type', 'application/json');
    }
    reply.header('access-control-allow-origin', '*');
    reply.header('access-control-allow-methods', CORS_METHODS);
    reply.header('access-control-allow-headers', 'Authorization, Content-Type, Last-Event-ID');
    return payload;
  });
  app.options('*', async (_req, reply) => reply.code(204).send());

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const api = req.url.startsWith('/api/');
    let status = 500;
    let message = 'internal error';
    let body: string | undefined;
    if (err instanceof HttpError) {
      status = err.statusCode;
      message = err.message;
      body = err.body;
    } else if (err instanceof ZodError) {
      status = 400;
      message = err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    } else if (isUniqueViolation(err)) {
      status = 409;
      message = 'a record with the same unique values already exists';
    } else if (isForeignKeyViolation(err)) {
      status = 409;
      message = 'other records still refer to it, or it refers to a missing record';
    } else if (typeof (err as FastifyError).statusCode === 'number' && (err as FastifyError).statusCode! < 500) {
      status = (err as FastifyError).statusCode!;
      message = err.message;
    } else {
      ctx.log.error(`${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
    }
    if (api) return reply.code(status).header('content-type', 'application/json').send(JSON.stringify({ error: message, statusCode: status }));
    return reply.code(status).header('content-type', 'text/html').send(body ?? (message.startsWith(String(status)) ? message : `${status} - ${message}`));
  });
  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/api/')) {
      return reply.code(404).header('content-type', 'application/json').send(JSON.stringify({ error: `no route ${req.method} ${req.url.split('?')[0]}`, statusCode: 404 }));
    }
    return reply.code(404).header('content-type', 'text/html').send('HTTP Error 404 - Not Found.');
  });

  const deps = { ctx, auth };
  app.register(async (scope) => {
    registerLookupRoutes(scope, deps);
    registerMappingRoutes(scope, deps);
    registerJobRoutes(scope, deps);
    registerPackageRoutes(scope, deps);
    registerApiRoutes(scope, deps);
    registerUiRoutes(scope, deps);
    registerRepoRoutes(scope, ctx);
    routes?.(scope, deps);
  });
  return app;
}

export type { Db, Logger };
