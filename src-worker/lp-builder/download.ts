// ensurepresent's download: stream the URL to <cache>/<sha1>.tmp while hashing, then rename.
// Unlike the original (which fetched on the reactor thread) this is fully asynchronous, so
// status() keeps answering while a big chroot arrives. Info strings are launchpad-buildd's.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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
  const err = e as { message?: string; code?: string };
  if (err?.code && err.message) return `<urlopen error ${err.message}>`;
  return err?.message ?? String(e);
}

class HttpStatusError extends Error {}

const MAX_REDIRECTS = 10;

/** GET `url`, following redirects; the response of the final hop, status 2xx. */
function get(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, hops = 0): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new Error(`unknown url type: '${url}'`));
      return;
    }
    const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
    if (!mod) {
      reject(new Error(`unknown url type: '${u.protocol.replace(/:$/, '')}'`));
      return;
    }
    const req = mod.get(u, { headers, signal }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location) {
        res.resume();
        if (hops >= MAX_REDIRECTS) {
          reject(new HttpStatusError(`HTTP Error ${status}: too many redirects`));
          return;
        }
        // Credentials go only to the host they were given for.
        const next = new URL(location, u);
        const h = next.host === u.host ? headers : Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'authorization'));
        resolve(get(next.toString(), h, signal, hops + 1));
        return;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        reject(new HttpStatusError(`HTTP Error ${status}: ${res.statusMessage ?? ''}`));
        return;
      }
      resolve(res);
    });
    req.on('error', reject);
  });
}

/** Passes bytes through unchanged, hashing them on the way. */
class HashTap extends Transform {
  readonly hash = createHash('sha1');
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

export async function downloadToCache(req: DownloadRequest): Promise<EnsureResult> {
  const tmp = `${req.dest}.tmp`;
  const headers: Record<string, string> = {};
  // Modern launchpad-buildd sends Basic credentials pre-emptively when either part is non-empty
  // (Launchpad passes username "" and a macaroon as password for restricted librarian files).
  if (req.username || req.password) {
    headers.authorization = `Basic ${Buffer.from(`${req.username ?? ''}:${req.password ?? ''}`).toString('base64')}`;
  }
  try {
    const res = await get(req.url, headers, req.signal);
    // Streamed with back-pressure, several chunks in flight to the disk at once: awaiting each
    // write in turn held a fast librarian to well under half of what curl gets from it.
    const tap = new HashTap();
    await pipeline(res, tap, createWriteStream(tmp, { highWaterMark: 1024 * 1024 }), { signal: req.signal });
    // Exact comparison with the lower-case hex digest, as the original: an upper-case sum never verifies.
    if (tap.hash.digest('hex') !== req.sha1) {
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
