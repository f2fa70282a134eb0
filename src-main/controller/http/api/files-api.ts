// The librarian over HTTP: POST /api/v1/files stores a file (multipart, or a raw body with
// ?name=) and answers its hashes and URL; GET /files/<sha1>/<name> serves it, with Range.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { workerPaths, type FileInfo } from '@shared/worker-api';
import type { AuthDeps } from '../pybit/common';
import { HttpError } from '../errors';
import { checkFileName, checkSha256, isSha1, parseRange, recordFile, type StoredFile } from '../../store/file-store';
import { authed, bodyStream, guard, isMultipart, limitBytes, multipartFiles, publicBase, query, sendApiJson } from './worker-common';
import type { WorkerStores } from './worker-api';

/** Largest raw upload (streamed to disk). */
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024 * 1024;
/** Largest multipart upload (the platform's FormData parser holds it in memory). */
export const MAX_MULTIPART_BYTES = 512 * 1024 * 1024;

export interface NamedUpload extends StoredFile {
  name: string;
}

/**
 * Stores every file of an upload: the parts of a multipart body (each named by its file name,
 * or by `?name=` when there is one part), or a raw body named by `nameHint` / `?name=`.
 */
export async function storeUpload(req: FastifyRequest, stores: WorkerStores, deps: AuthDeps, nameHint?: string): Promise<NamedUpload[]> {
  const q = query(req);
  const expectSha256 = checkSha256(q.sha256);
  const stored: NamedUpload[] = [];
  if (isMultipart(req)) {
    const { files } = await multipartFiles(req, MAX_MULTIPART_BYTES);
    if (files.length === 0) throw new HttpError(400, 'the multipart body has no file part');
    const single = files.length === 1 ? (nameHint ?? q.name) : undefined;
    // Check every name before storing anything.
    const names = files.map((f) => checkFileName(single ?? f.name, single ? 'name' : `file name of part '${f.name}'`));
    for (const [i, f] of files.entries()) {
      const s = await stores.files.put(Readable.fromWeb(f.stream() as never), { expectSha256: files.length === 1 ? expectSha256 : undefined });
      stored.push({ ...s, name: names[i]! });
    }
  } else {
    const name = checkFileName(nameHint ?? q.name, 'name');
    const s = await stores.files.put(bodyStream(req).pipe(limitBytes(MAX_UPLOAD_BYTES)), { maxBytes: MAX_UPLOAD_BYTES, expectSha256 });
    stored.push({ ...s, name });
  }
  for (const s of stored) await recordFile(deps.ctx.db.kysely, s);
  return stored;
}

export function fileUrl(base: string, sha1: string, name: string): string {
  return base + workerPaths.file(sha1, name);
}

const TEXT_EXT = /\.(log|txt|changes|dsc|buildinfo|json|md)$/i;

export function registerFilesApi(app: FastifyInstance, deps: AuthDeps, stores: WorkerStores): void {
  const { ctx } = deps;

  app.post(
    workerPaths.files,
    authed(deps, async (req, reply) => {
      const stored = await storeUpload(req, stores, deps);
      const base = publicBase(req, ctx.config.baseUrl);
      const infos: FileInfo[] = stored.map((s) => ({ sha1: s.sha1, sha256: s.sha256, size: s.size, url: fileUrl(base, s.sha1, s.name) }));
      return sendApiJson(reply, { ...infos[0]!, files: infos });
    }),
  );

  const serve = guard(async (req, reply) => {
    const { sha1, name } = req.params as { sha1: string; name?: string };
    if (!isSha1(sha1)) throw new HttpError(400, `'${sha1.slice(0, 80)}' is not a SHA-1 (40 lowercase hexadecimal digits)`);
    if (name !== undefined) checkFileName(name, 'file name');
    const size = await stores.files.size(sha1);
    if (size === null) throw new HttpError(404, `the librarian has no file ${sha1}`);
    return sendStored(req, reply, stores.files.path(sha1), size, sha1, name);
  });
  app.get('/files/:sha1', serve);
  app.get('/files/:sha1/:name', serve);
}

function sendStored(req: FastifyRequest, reply: FastifyReply, path: string, size: number, sha1: string, name: string | undefined): FastifyReply {
  reply
    .header('accept-ranges', 'bytes')
    .header('etag', `"${sha1}"`)
    .header('cache-control', 'public, max-age=31536000, immutable')
    .header('content-type', name && TEXT_EXT.test(name) ? 'text/plain; charset=utf-8' : 'application/octet-stream');
  if (name) reply.header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(name)}`);
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    return reply.code(416).header('content-range', `bytes */${size}`).header('content-type', 'text/plain').send(`range not satisfiable: the file has ${size} bytes`);
  }
  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', String(range.end - range.start + 1));
    return reply.send(createReadStream(path, { start: range.start, end: range.end }));
  }
  reply.code(200).header('content-length', String(size));
  if (size === 0) return reply.send('');
  return reply.send(createReadStream(path));
}
