// Shared pieces of the worker endpoints: authentication (a worker token, a user token or Basic
// credentials), the worker's name on raw-body writes, JSON refusals that say why, raw bodies
// with a size limit, and the public base URL for download links.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable, Transform } from 'node:stream';
import type { Principal } from '../../auth/auth';
import type { AuthDeps } from '../pybit/common';
import { checkText } from '../pybit/common';
import { HttpError } from '../errors';
import { WorkerConflictError } from '../../domain/claim';
import { WORKER_HEADER } from '@shared/worker-api';

export type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
export type AuthedHandler = (req: FastifyRequest, reply: FastifyReply, who: Principal) => Promise<unknown>;

export function sendApiJson(reply: FastifyReply, value: unknown, code = 200): FastifyReply {
  return reply.code(code).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(value));
}

/** Conflicts carry the job's status (and, for logs, the length to resume from) in the body. */
export function guard(h: Handler): Handler {
  return async (req, reply) => {
    try {
      return await h(req, reply);
    } catch (e) {
      if (e instanceof WorkerConflictError) {
        return sendApiJson(reply, { error: e.message, statusCode: e.statusCode, ...e.details }, e.statusCode);
      }
      throw e;
    }
  };
}

/** Writes need credentials: a worker token, a user token, or Basic user:password. */
export function authed(deps: AuthDeps, h: AuthedHandler): Handler {
  return guard(async (req, reply) => {
    const who = await deps.auth.authenticate(req.headers.authorization);
    if (!who) {
      return reply
        .code(401)
        .header('www-authenticate', 'Basic realm="Buildbox"')
        .header('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ error: 'authentication required: a worker token (Authorization: Bearer …) or Basic credentials', statusCode: 401 }));
    }
    return h(req, reply, who);
  });
}

export function jobIdParam(req: FastifyRequest): number {
  const raw = (req.params as { id?: string }).id;
  if (raw === undefined || !/^[1-9]\d{0,14}$/.test(raw)) throw new HttpError(400, `job id must be a positive integer, got '${String(raw).slice(0, 40)}'`);
  return Number(raw);
}

export function query(req: FastifyRequest): Record<string, string | undefined> {
  const q = req.query as Record<string, unknown> | undefined;
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(q ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') out[k] = first;
  }
  return out;
}

/** A non-negative integer query parameter, or `def` when absent. */
export function intQuery(q: Record<string, string | undefined>, key: string, def: number | undefined): number | undefined {
  const v = q[key];
  if (v === undefined || v === '') return def;
  if (!/^\d{1,15}$/.test(v)) throw new HttpError(400, `query parameter '${key}' must be a non-negative integer, got '${v.slice(0, 40)}'`);
  return Number(v);
}

/** The writing worker's name: `?worker=` or the X-Buildbox-Worker header. */
export function workerOf(req: FastifyRequest): string {
  const q = query(req).worker;
  const h = req.headers[WORKER_HEADER];
  const name = q ?? (typeof h === 'string' ? h : undefined);
  if (!name) throw new HttpError(400, `the worker's name is required: query parameter 'worker' or header ${WORKER_HEADER}`);
  checkText('worker', name, 200);
  return name;
}

/** The request body as a byte stream (the worker scope's content-type parsers pass it through). */
export function bodyStream(req: FastifyRequest): Readable {
  const b = req.body as unknown;
  if (b instanceof Readable) return b;
  if (Buffer.isBuffer(b)) return Readable.from([b]);
  if (typeof b === 'string') return Readable.from([Buffer.from(b)]);
  if (b == null) return Readable.from([]);
  throw new HttpError(400, 'expected a raw request body (application/octet-stream)');
}

/** Reads a whole raw body, refusing (413) past `max` bytes. */
export async function readRaw(req: FastifyRequest, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of bodyStream(req)) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
    n += b.length;
    if (n > max) throw new HttpError(413, `the body is larger than ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Passes bytes through and fails the stream once more than `max` have gone by. */
export function limitBytes(max: number): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > max) cb(new HttpError(413, `the body is larger than ${max} bytes`));
      else cb(null, chunk);
    },
  });
}

export function isMultipart(req: FastifyRequest): boolean {
  return /^multipart\/form-data\b/i.test(String(req.headers['content-type'] ?? ''));
}

/** The files of a multipart body (buffered by the platform's FormData parser, up to `max` bytes). */
export async function multipartFiles(req: FastifyRequest, max: number): Promise<{ files: File[]; fields: Record<string, string> }> {
  const limited = bodyStream(req).pipe(limitBytes(max));
  let err: unknown = null;
  limited.on('error', (e) => (err = e));
  const web = Readable.toWeb(limited) as unknown as ReadableStream<Uint8Array>;
  let form: FormData;
  try {
    form = await new Request('http://buildbox.invalid/', {
      method: 'POST',
      headers: { 'content-type': String(req.headers['content-type']) },
      body: web,
      duplex: 'half',
    } as RequestInit).formData();
  } catch (e) {
    if (err) throw err;
    throw new HttpError(400, `the multipart body could not be read: ${(e as Error).message}`);
  }
  const files: File[] = [];
  const fields: Record<string, string> = {};
  for (const [k, v] of form.entries()) {
    if (typeof v === 'string') fields[k] ??= v;
    else files.push(v as File);
  }
  return { files, fields };
}

/** Base URL for links in answers: the address the caller used, else the controller's own. */
export function publicBase(req: FastifyRequest, fallback: string): string {
  const host = req.headers.host;
  if (!host || /[\s/\\@]/.test(host)) return fallback;
  return `${req.protocol}://${host}`;
}
