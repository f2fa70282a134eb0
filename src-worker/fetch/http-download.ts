// Downloads over HTTP(S) in-process (no curl/wget needed), hashing while writing, into a
// temporary name that is renamed only when complete. Credentials in the URL are sent as a
// Basic Authorization header (fetch() refuses URLs that carry them) and never logged.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BuildLog } from '../backends/backend';
import { scrubCredentials } from '../scrub';

export interface Downloaded {
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly aborted = false,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

function splitCredentials(url: URL): { url: URL; headers: Record<string, string> } {
  if (!url.username && !url.password) return { url, headers: {} };
  const auth = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
  const clean = new URL(url);
  clean.username = '';
  clean.password = '';
  return { url: clean, headers: { Authorization: `Basic ${auth}` } };
}

export async function downloadFile(url: URL, dest: string, opts: { log: BuildLog; signal: AbortSignal }): Promise<Downloaded> {
  opts.log.write(`DOWNLOAD: ${scrubCredentials(url.href)}\n`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DownloadError(`unsupported URL scheme ${url.protocol}`);
  const { url: clean, headers } = splitCredentials(url);
  const partial = `${dest}.partial`;
  try {
    const res = await fetch(clean, { headers, signal: opts.signal, redirect: 'follow' });
    if (!res.ok || !res.body) throw new DownloadError(`HTTP ${res.status} ${res.statusText} for ${scrubCredentials(url.href)}`);
    const md5 = createHash('md5');
    const sha1 = createHash('sha1');
    const sha256 = createHash('sha256');
    let size = 0;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      md5.update(chunk);
      sha1.update(chunk);
      sha256.update(chunk);
    });
    await pipeline(body, createWriteStream(partial));
    await rename(partial, dest);
    return { size, md5: md5.digest('hex'), sha1: sha1.digest('hex'), sha256: sha256.digest('hex') };
  } catch (err) {
    await rm(partial, { force: true });
    if (err instanceof DownloadError) throw err;
    if (opts.signal.aborted) throw new DownloadError('download aborted', true);
    throw new DownloadError(`cannot download ${scrubCredentials(url.href)}: ${(err as Error).message}`);
  }
}
