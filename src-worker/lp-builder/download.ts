// ensurepresent's download: stream the URL to <cache>/<sha1>.tmp while hashing, then rename.
// Unlike the original (which fetched on the reactor thread) this is fully asynchronous, so
// status() keeps answering while a big chroot arrives. Info strings are launchpad-buildd's.
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export type EnsureResult = [boolean, string];

export const DIGEST_MISMATCH = 'Digests did not match, removing again!';

export interface DownloadRequest {
  url: string;
  /** Final path in the cache; the temp file is `${dest}.tmp`. */
  dest: string;
  sha1: string;
  username: string | null;
  password: string | null;
  signal?: AbortSignal;
}

/** Text like Python's urllib exception messages, which Launchpad logs verbatim. */
function describeError(e: unknown): string {
  if (e instanceof HttpStatusError) return e.message;
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  // fetch() wraps network errors as "fetch failed" with the real reason in `cause`.
  if (err?.cause?.message) return `<urlopen error ${err.cause.message}>`;
  return err?.message ?? String(e);
}

class HttpStatusError extends Error {}

export async function downloadToCache(req: DownloadRequest): Promise<EnsureResult> {
  const tmp = `${req.dest}.tmp`;
  const headers: Record<string, string> = {};
  // Modern launchpad-buildd sends Basic credentials pre-emptively when either part is non-empty
  // (Launchpad passes username "" and a macaroon as password for restricted librarian files).
  if (req.username || req.password) {
    headers.authorization = `Basic ${Buffer.from(`${req.username ?? ''}:${req.password ?? ''}`).toString('base64')}`;
  }
  try {
    const res = await fetch(req.url, { headers, redirect: 'follow', signal: req.signal });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new HttpStatusError(`HTTP Error ${res.status}: ${res.statusText}`);
    }
    const hash = createHash('sha1');
    const out = await open(tmp, 'w');
    try {
      if (res.body) {
        for await (const chunk of Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>)) {
          hash.update(chunk as Buffer);
          await out.write(chunk as Buffer);
        }
      }
    } finally {
      await out.close();
    }
    // Exact comparison with the lower-case hex digest, as the original: an upper-case sum never verifies.
    if (hash.digest('hex') !== req.sha1) {
      await rm(tmp, { force: true });
      return [false, DIGEST_MISMATCH];
    }
    await rename(tmp, req.dest);
    return [true, 'Download'];
  } catch (e) {
    await rm(tmp, { force: true });
    return [false, `Error accessing Librarian: ${describeError(e)}`];
  }
}
