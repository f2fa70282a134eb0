// GET /api/v1/openapi.json: an OpenAPI 3.1 document generated from the same zod schemas the
// routes validate with (src-shared/api.ts, src-shared/worker-api.ts).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiRoutes, ErrorResponse, routerPath, type ApiRoute } from '@shared/api';
import * as W from '@shared/worker-api';

type Json = Record<string, unknown>;

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out.$schema;
  return out;
}

/** Query and path parameters from a (strict) object schema. */
function parameters(s: z.ZodType | undefined, where: 'query' | 'path'): Json[] {
  if (!s) return [];
  const js = schemaOf(s, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return {
      name,
      in: where,
      required: where === 'path' || (js.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
      // Repeatable parameters: ?status=A&status=B.
      ...(where === 'query' && 'anyOf' in rest ? { style: 'form', explode: true } : {}),
    };
  });
}

const jsonContent = (schema: Json) => ({ 'application/json': { schema } });

interface Op {
  method: string;
  path: string;
  summary: string;
  tag: string;
  auth?: boolean;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  bodyType?: string;
  response?: z.ZodType;
  status?: number;
  produces?: string;
}

/** The worker endpoints (served by the worker API), documented from their shared schemas. */
const jobIdPath = z.strictObject({ id: z.string().regex(/^\d+$/) });
const workerOps: Op[] = [
  { method: 'POST', path: '/api/v1/jobs/{id}/claim', summary: 'Worker: claim a job (atomic Waiting/Blocked → Building) and take its lease', tag: 'workers', auth: true, params: jobIdPath, body: W.ClaimRequest, response: W.ClaimResponse },
  { method: 'POST', path: '/api/v1/jobs/{id}/heartbeat', summary: "Worker: renew a claimed job's lease; says whether to stop", tag: 'workers', auth: true, params: jobIdPath, body: W.HeartbeatRequest, response: W.HeartbeatResponse },
  { method: 'POST', path: '/api/v1/jobs/{id}/finish', summary: 'Worker: report the final status and result category', tag: 'workers', auth: true, params: jobIdPath, body: W.FinishRequest },
  { method: 'POST', path: '/api/v1/jobs/{id}/log', summary: 'Worker: append a chunk of the build log at an offset', tag: 'workers', auth: true, params: jobIdPath, bodyType: 'application/octet-stream' },
  {
    method: 'GET',
    path: '/api/v1/jobs/{id}/log',
    summary: "A byte range of a job's build log (offset + length, or the last `tail` bytes); X-Log-Offset and X-Log-Size say where it lies",
    tag: 'workers',
    params: jobIdPath,
    query: z.strictObject({ offset: z.string().regex(/^\d+$/).optional(), length: z.string().regex(/^\d+$/).optional(), tail: z.string().regex(/^\d+$/).optional() }),
    produces: 'text/plain',
  },
  { method: 'POST', path: '/api/v1/jobs/{id}/artifacts', summary: 'Worker: upload a build artifact to the librarian', tag: 'workers', auth: true, params: jobIdPath, bodyType: 'multipart/form-data', response: W.ArtifactInfo },
  { method: 'POST', path: '/api/v1/workers/hello', summary: 'Worker: announce itself (name, arch, suites, state)', tag: 'workers', auth: true, body: W.WorkerHello },
];

function operation(op: Op): Json {
  const okStatus = String(op.status ?? 200);
  const ok: Json = { description: 'OK' };
  if (op.produces === 'text/event-stream') {
    ok.content = { 'text/event-stream': { schema: op.response ? schemaOf(op.response, 'output') : { type: 'string' } } };
    ok.description = 'A stream of events; each `data:` line is one of these objects, `event:` is its type.';
  } else if (op.produces === 'text/plain') {
    ok.content = { 'text/plain': { schema: { type: 'string' } } };
  } else if (op.response) {
    ok.content = jsonContent(schemaOf(op.response, 'output'));
  }
  const error = { description: 'Error', content: jsonContent(schemaOf(ErrorResponse, 'output')) };
  const responses: Json = { [okStatus]: ok };
  if (op.query || op.params || op.body || op.bodyType) responses['400'] = { ...error, description: 'Invalid input; the message names the parameter or field' };
  if (op.auth) {
    responses['401'] = { ...error, description: 'No or invalid credentials' };
    responses['403'] = { ...error, description: 'The credential may not do this (e.g. a worker token)' };
  }
  if (op.params) responses['404'] = { ...error, description: 'No such job' };
  if (op.path.endsWith('/cancel') || op.path.endsWith('/retry')) responses['409'] = { ...error, description: 'Not possible in the job’s current status' };
  const out: Json = {
    summary: op.summary,
    tags: [op.tag],
    parameters: [...parameters(op.params, 'path'), ...parameters(op.query, 'query')],
    responses,
  };
  if (op.auth) out.security = [{ bearer: [] }, { basic: [] }];
  if (op.body) out.requestBody = { required: true, content: jsonContent(schemaOf(op.body, 'input')) };
  else if (op.bodyType) out.requestBody = { required: true, content: { [op.bodyType]: { schema: { type: 'string', format: 'binary' } } } };
  return out;
}

export function buildOpenApi(): Json {
  const ops: Op[] = [
    ...Object.values(apiRoutes as Record<string, ApiRoute>).map((r) => ({
      ...r,
      tag: r.path.startsWith('/api/v1/jobs') ? 'jobs' : r.path === '/metrics' ? 'metrics' : 'controller',
    })),
    ...workerOps,
  ];
  const paths: Record<string, Json> = {};
  for (const op of ops) {
    paths[op.path] ??= {};
    paths[op.path]![op.method.toLowerCase()] = operation(op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Buildbox controller API',
      version: '1',
      description:
        'The JSON API used by the Buildbox UI, CLI and workers. Reads are public; writes need a user credential ' +
        '(Bearer token, or HTTP Basic with a password or token). pyBit-compatible routes live at the root and are not listed here.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        basic: { type: 'http', scheme: 'basic' },
      },
    },
    paths,
  };
}

export function registerOpenApi(app: FastifyInstance): void {
  let cached: string | null = null;
  app.get(routerPath(apiRoutes.openapi.path), async (_req, reply) => {
    cached ??= JSON.stringify(buildOpenApi());
    return reply.header('content-type', 'application/json; charset=utf-8').send(cached);
  });
}
