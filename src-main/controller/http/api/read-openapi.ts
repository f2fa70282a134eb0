// GET /api/v1/openapi.json: an OpenAPI 3.1 document generated from the same zod schemas the
// routes validate with (src-shared/api.ts, src-shared/worker-api.ts).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiRoutes, ErrorResponse, routerPath, type ApiRoute } from '@shared/api';
import * as W from '@shared/worker-api';
import * as U from '@shared/users-api';
import * as H from '@shared/hooks-api';
import * as B from '@shared/builders-api';
import * as L from '@shared/local-worker-api';

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

/** Accounts, webhook sources, Launchpad-style builders and box's local worker, from their shared schemas. */
const oapi = (path: string) => path.replace(/:([a-z]+)/g, '{$1}');
const namePath = z.strictObject({ name: z.string() });
const idPath = z.strictObject({ id: z.string().regex(/^\d+$/) });
const adminOps: Op[] = [
  { method: 'GET', path: U.usersRoutes.me, summary: 'Who the credential belongs to (anonymous without one)', tag: 'accounts', response: U.Me },
  { method: 'GET', path: U.usersRoutes.users, summary: 'Users (admin)', tag: 'accounts', auth: true, response: U.UserList },
  { method: 'POST', path: U.usersRoutes.users, summary: 'Create a user (admin); a generated password is returned once', tag: 'accounts', auth: true, body: U.UserCreate, response: U.UserCreated, status: 201 },
  { method: 'PATCH', path: oapi(U.usersRoutes.user), summary: "Change a user's password (admin, or the user) or admin flag (admin)", tag: 'accounts', auth: true, params: namePath, body: U.UserPatch, response: U.UserInfo },
  { method: 'DELETE', path: oapi(U.usersRoutes.user), summary: 'Delete a user and its tokens (admin; never the last administrator)', tag: 'accounts', auth: true, params: namePath },
  { method: 'GET', path: U.usersRoutes.tokens, summary: 'API tokens: your own, or all for an admin (never the secret)', tag: 'accounts', auth: true, response: U.TokenList },
  { method: 'POST', path: U.usersRoutes.tokens, summary: 'Create an API token; the token is returned once', tag: 'accounts', auth: true, body: U.TokenCreate, response: U.TokenCreated, status: 201 },
  { method: 'DELETE', path: oapi(U.usersRoutes.token), summary: 'Revoke a token (yours, or any as admin); effective at once', tag: 'accounts', auth: true, params: idPath },
  { method: 'GET', path: H.hooksRoutes.repositories, summary: 'Webhook source repositories (admin)', tag: 'sources', auth: true, response: H.RepositoryList },
  { method: 'POST', path: H.hooksRoutes.repositories, summary: 'Register a repository whose pushes queue builds; the webhook secret is returned once', tag: 'sources', auth: true, body: H.RepositoryCreate, response: H.RepositoryCreated, status: 201 },
  { method: 'GET', path: oapi(H.hooksRoutes.repository), summary: 'One webhook source repository (admin)', tag: 'sources', auth: true, params: namePath, response: H.RepositoryInfo },
  { method: 'DELETE', path: oapi(H.hooksRoutes.repository), summary: 'Delete a webhook source repository (admin)', tag: 'sources', auth: true, params: namePath },
  { method: 'POST', path: oapi(H.hooksRoutes.repositorySecret), summary: 'Replace the webhook secret (admin); the new one is returned once', tag: 'sources', auth: true, params: namePath, response: H.RepositorySecret },
  { method: 'POST', path: H.hooksRoutes.github, summary: "GitHub push webhook (X-Hub-Signature-256 with the repository's secret)", tag: 'sources', bodyType: 'application/json' },
  { method: 'POST', path: H.hooksRoutes.gitlab, summary: "GitLab push webhook (X-Gitlab-Token with the repository's secret)", tag: 'sources', bodyType: 'application/json' },
  { method: 'GET', path: B.builderRoutes.list, summary: 'Launchpad-style builders with their state', tag: 'builders', response: z.array(B.BuilderInfo) },
  { method: 'POST', path: B.builderRoutes.list, summary: 'Register a builder (admin)', tag: 'builders', auth: true, body: B.BuilderCreate, response: B.BuilderInfo, status: 201 },
  { method: 'PATCH', path: oapi(B.builderRoutes.one), summary: 'Change a builder (manual, enabled, URL, failure notes)', tag: 'builders', auth: true, params: namePath, body: B.BuilderPatch, response: B.BuilderInfo },
  { method: 'DELETE', path: oapi(B.builderRoutes.one), summary: 'Delete a builder (admin)', tag: 'builders', auth: true, params: namePath },
  { method: 'GET', path: L.LOCAL_WORKER_PATH, summary: "buildbox box only: the local worker's settings and process state", tag: 'box', response: L.LocalWorkerInfo },
  { method: 'PUT', path: L.LOCAL_WORKER_PATH, summary: 'buildbox box only: change the local worker (admin); it restarts with the new settings', tag: 'box', auth: true, body: L.LocalWorkerPatch, response: L.LocalWorkerInfo },
];

export function buildOpenApi(): Json {
  const ops: Op[] = [
    ...Object.values(apiRoutes as Record<string, ApiRoute>).map((r) => ({
      ...r,
      tag: r.path.startsWith('/api/v1/jobs') ? 'jobs' : r.path === '/metrics' ? 'metrics' : 'controller',
    })),
    ...workerOps,
    ...adminOps,
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
