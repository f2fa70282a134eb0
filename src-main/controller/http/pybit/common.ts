// Shared pieces of the pyBit-compatible routes: exact JSON content type, form reading,
// auth, ids, paging, and pyBit's page-count quirk.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Ctx } from '../../context';
import type { Authenticator, Principal } from '../../auth/auth';
import { HttpError } from '../errors';

/** pyBit clients compare the Content-Type string exactly, so no charset parameter. */
export function sendJson(reply: FastifyReply, value: unknown, code = 200): FastifyReply {
  return reply.code(code).header('content-type', 'application/json').send(JSON.stringify(value));
}

export function sendText(reply: FastifyReply, text: string, code = 200, type = 'text/plain'): FastifyReply {
  return reply.code(code).header('content-type', type).send(text);
}

/** An empty 200 body, as pyBit answers successful writes. */
export function sendEmpty(reply: FastifyReply, code = 200): FastifyReply {
  return reply.code(code).header('content-type', 'text/html').send('');
}

/**
 * Form fields from a url-encoded, multipart or JSON body (pyBit reads only forms; JSON is
 * accepted as a convenience). Every value becomes a string; arrays keep their first value.
 */
export function readForm(req: FastifyRequest): Record<string, string> {
  const body = req.body;
  const out: Record<string, string> = {};
  if (body == null || typeof body !== 'object' || Array.isArray(body)) return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first == null) continue;
    if (typeof first === 'string') out[k] = first;
    else if (typeof first === 'number' || typeof first === 'boolean') out[k] = String(first);
    else if (typeof first === 'object' && 'value' in (first as object)) {
      const value = (first as { value: unknown }).value;
      if (typeof value === 'string') out[k] = value;
    } else throw new HttpError(400, `field '${k}' must be a plain value`);
  }
  return out;
}

export function has(form: Record<string, string>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(form, key);
}

const MAX_FIELD = 4096;

/** A required, non-empty field. */
export function field(form: Record<string, string>, key: string, max = MAX_FIELD): string {
  const v = form[key];
  if (v === undefined || v === '') throw new HttpError(400, `Required field '${key}' is missing.`);
  checkText(key, v, max);
  return v;
}

export function optionalField(form: Record<string, string>, key: string, max = MAX_FIELD): string | undefined {
  const v = form[key];
  if (v === undefined) return undefined;
  checkText(key, v, max);
  return v;
}

export function checkText(key: string, v: string, max = MAX_FIELD): void {
  if (v.length > max) throw new HttpError(400, `field '${key}' is longer than ${max} characters`);
  // Control characters in names break logs, queue names and file names downstream.
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new HttpError(400, `field '${key}' contains control characters`);
}

export function intField(form: Record<string, string>, key: string): number {
  const v = field(form, key, 20);
  return parseIntStrict(v, key);
}

/** Ids are 32-bit on PostgreSQL (serial); a larger number cannot name a row and must not reach the database. */
export const MAX_DB_INT = 2_147_483_647;

export function parseIntStrict(v: string, what: string): number {
  if (!/^\d{1,10}$/.test(v) || Number(v) > MAX_DB_INT) throw new HttpError(400, `'${what}' must be an integer from 0 to ${MAX_DB_INT}, got '${v.slice(0, 40)}'`);
  return Number(v);
}

/** A numeric id from the URL. pyBit routes answer unknown ids with 404. */
export function idParam(raw: string | undefined, what = 'id'): number {
  if (raw === undefined || !/^\d{1,10}$/.test(raw) || Number(raw) > MAX_DB_INT) {
    throw new HttpError(400, `${what} must be an integer from 0 to ${MAX_DB_INT}, got '${String(raw).slice(0, 40)}'`);
  }
  return Number(raw);
}

export function pageParam(raw: string | undefined): number {
  const n = idParam(raw, 'page');
  if (n < 1) throw new HttpError(400, 'page numbers start at 1');
  return n;
}

/** pyBit's `/count` is the number of pages as a JSON float, `1.0` when there are no rows. */
export function pageCount(rows: number, pageSize: number): string {
  const pages = rows === 0 ? 1 : Math.ceil(rows / pageSize);
  return `${pages}.0`;
}

export interface AuthDeps {
  ctx: Ctx;
  auth: Authenticator;
}

/** pyBit's 401: Basic challenge with realm PyBit and the text body old clients print. */
export async function requireUser(deps: AuthDeps, req: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> {
  const p = await deps.auth.authenticate(req.headers.authorization);
  if (!p) {
    reply.code(401).header('www-authenticate', 'Basic realm="PyBit"').header('content-type', 'text/html').send('401 - Unauthorized');
    return undefined;
  }
  return p;
}
