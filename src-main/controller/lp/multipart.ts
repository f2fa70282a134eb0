// Multipart bodies with their file names, streamed under per-route limits. The app-wide
// multipart mode buffers file parts as bare values and drops their names, which uploads of
// source packages and chroot tarballs need; routes that call `keepMultipartParts` opt out of it.
import type { FastifyRequest, RouteShorthandOptions } from 'fastify';
import { HttpError } from '../http/errors';

export interface MultipartBody {
  fields: Record<string, string>;
  files: Array<{ field: string; name: string; data: Buffer }>;
}

/** Route options that leave the multipart stream for `readMultipart`. */
export function keepMultipartParts(): RouteShorthandOptions {
  return {
    onRequest: async (req) => {
      // Shadows the request decorator, so the app-wide multipart hook leaves this body alone.
      (req as unknown as { isMultipart: () => boolean }).isMultipart = () => false;
    },
  };
}

export async function readMultipart(req: FastifyRequest, limits: { fileSize: number; files: number; fields?: number }): Promise<MultipartBody | null> {
  const own = req as unknown as { isMultipart: () => boolean };
  delete (own as { isMultipart?: unknown }).isMultipart;
  if (!req.isMultipart()) return null;
  const out: MultipartBody = { fields: {}, files: [] };
  try {
    for await (const part of req.parts({ limits: { fileSize: limits.fileSize, files: limits.files, fields: limits.fields ?? 50, fieldSize: 64 * 1024 } })) {
      if (part.type === 'file') {
        const data = await part.toBuffer();
        out.files.push({ field: part.fieldname, name: part.filename ?? '', data });
      } else {
        if (typeof part.value !== 'string') throw new HttpError(400, `field '${part.fieldname}' must be text`);
        out.fields[part.fieldname] = part.value;
      }
    }
  } catch (e) {
    if (e instanceof HttpError) throw e;
    const err = e as Error & { statusCode?: number; code?: string };
    if (err.code === 'FST_REQ_FILE_TOO_LARGE') throw new HttpError(413, `a file is larger than ${limits.fileSize} bytes`);
    if (err.code === 'FST_FILES_LIMIT') throw new HttpError(413, `more than ${limits.files} files`);
    if (typeof err.statusCode === 'number' && err.statusCode < 500) throw new HttpError(err.statusCode, err.message);
    throw new HttpError(400, `malformed multipart body: ${err.message}`);
  }
  return out;
}
