// Shared pieces of the /api/v1 routes: zod validation with messages that name the parameter or
// field, user authentication answering in JSON, and time conversion.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Principal } from '../../auth/auth';
import { fromDbTime } from '../../db/time';
import { HttpError } from '../errors';
import type { AuthDeps } from '../pybit/common';

type Where = 'query parameter' | 'field' | 'path parameter';

function describe(where: Where, error: z.ZodError): string {
  return error.issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') {
        return i.keys.map((k) => `unknown ${where} '${k}'`).join('; ');
      }
      // For query parameters the name is enough ('status', not 'status.1').
      const path = where === 'query parameter' ? String(i.path[0] ?? '') : i.path.join('.');
      return path ? `${where} '${path}': ${i.message}` : i.message;
    })
    .join('; ');
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: Where): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new HttpError(400, describe(where, r.error));
  return r.data;
}

export const parseQuery = <S extends z.ZodType>(schema: S, req: FastifyRequest): z.output<S> => parse(schema, req.query, 'query parameter');
export const parseParams = <S extends z.ZodType>(schema: S, req: FastifyRequest): z.output<S> => parse(schema, req.params, 'path parameter');
export const parseBody = <S extends z.ZodType>(schema: S, body: unknown): z.output<S> => parse(schema, body, 'field');

/** Runs `fn` and turns a ZodError from it into a 400 that names the field. */
export function withBodyErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e && typeof e === 'object' && 'issues' in e && Array.isArray((e as z.ZodError).issues)) {
      throw new HttpError(400, describe('field', e as z.ZodError));
    }
    throw e;
  }
}

/**
 * The pyBit routes' authentication (HTTP Basic with a password or token, or a Bearer token),
 * answered in JSON. Worker tokens may only report builds, as on the pyBit routes. The challenge
 * is Bearer, so that browsers do not pop up a Basic login dialog over the UI.
 */
export async function requireApiUser(deps: AuthDeps, req: FastifyRequest, reply: FastifyReply): Promise<Principal> {
  const p = await deps.auth.authenticate(req.headers.authorization);
  if (!p) {
    reply.header('www-authenticate', 'Bearer realm="buildbox"');
    throw new HttpError(401, req.headers.authorization ? 'invalid credentials' : 'authentication required (Authorization: Bearer <token>, or Basic)');
  }
  if (p.kind !== 'user') throw new HttpError(403, 'worker tokens may only report builds');
  return p;
}

/** A user credential of an administrator; `what` finishes the refusal "only administrators …". */
export async function requireAdmin(deps: AuthDeps, req: FastifyRequest, reply: FastifyReply, what: string): Promise<Principal> {
  const p = await requireApiUser(deps, req, reply);
  if (!p.isAdmin) throw new HttpError(403, `only administrators ${what}`);
  return p;
}

/** Database time text → ISO 8601. */
export function iso(dbTime: string): string;
export function iso(dbTime: string | null): string | null;
export function iso(dbTime: string | null): string | null {
  return dbTime == null ? null : fromDbTime(dbTime).toISOString();
}
