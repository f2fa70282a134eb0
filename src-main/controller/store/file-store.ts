// The librarian: a content-addressed file store. Files live at <root>/<sha1[0:2]>/<sha1>; a new
// file is streamed into a temporary file (hashing SHA-1 and SHA-256 on the way) and renamed into
// place, so a reader never sees a half-written file and an interrupted upload leaves nothing.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { nowText } from '../db/time';
import { HttpError } from '../http/errors';

export interface StoredFile {
  sha1: string;
  sha256: string;
  size: number;
}

export interface PutOptions {
  /** Refuse (413) once more bytes than this arrive. */
  maxBytes?: number;
  /** When given, the upload is refused (400) unless its SHA-256 matches. */
  expectSha256?: string;
}

const SHA1 = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export function isSha1(s: string): boolean {
  return SHA1.test(s);
}

/**
 * A file name as it may appear in a URL, a cache or an artifact list: no path separators, no
 * `..`, no control characters. Throws a 400 naming `what` otherwise.
 */
export function checkFileName(name: string | undefined, what = 'name'): string {
  if (name === undefined || name === '') throw new HttpError(400, `${what} is required (a file name)`);
  if (name.length > 255) throw new HttpError(400, `${what} is longer than 255 characters`);
  if (name.includes('/') || name.includes('\\')) throw new HttpError(400, `${what} must not contain path separators: '${name.slice(0, 80)}'`);
  if (name === '.' || name === '..' || name.includes('..')) throw new HttpError(400, `${what} must not contain '..': '${name.slice(0, 80)}'`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new HttpError(400, `${what} contains control characters`);
  return name;
}

export function checkSha256(v: string | undefined, what = 'sha256'): string | undefined {
  if (v === undefined || v === '') return undefined;
  const s = v.toLowerCase();
  if (!SHA256.test(s)) throw new HttpError(400, `${what} must be 64 hexadecimal digits`);
  return s;
}

export class FileStore {
  private readonly tmp: string;

  constructor(readonly root: string) {
    this.tmp = join(root, 'tmp');
    mkdirSync(this.tmp, { recursive: true });
  }

  path(sha1: string): string {
    if (!isSha1(sha1)) throw new HttpError(400, `'${sha1.slice(0, 80)}' is not a SHA-1 (40 lowercase hexadecimal digits)`);
    return join(this.root, sha1.slice(0, 2), sha1);
  }

  /** Size of a stored file, or null when the store does not hold it. */
  async size(sha1: string): Promise<number | null> {
    try {
      const st = await stat(this.path(sha1));
      return st.isFile() ? st.size : null;
    } catch {
      return null;
    }
  }

  /** Streams `source` into the store. Nothing stays behind when it fails or is refused. */
  async put(source: AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<StoredFile> {
    const tmpPath = join(this.tmp, `${Date.now()}-${randomBytes(8).toString('hex')}`);
    const h1 = createHash('sha1');
    const h256 = createHash('sha256');
    let size = 0;
    const fh = await open(tmpPath, 'wx');
    let moved = false;
    try {
      try {
        for await (const chunk of source) {
          size += chunk.length;
          if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new HttpError(413, `the file is larger than ${opts.maxBytes} bytes`);
          h1.update(chunk);
          h256.update(chunk);
          await fh.write(chunk);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const sha1 = h1.digest('hex');
      const sha256 = h256.digest('hex');
      if (opts.expectSha256 && opts.expectSha256 !== sha256) {
        throw new HttpError(400, `sha256 mismatch: expected ${opts.expectSha256}, the uploaded content has ${sha256}`);
      }
      const final = this.path(sha1);
      await mkdir(join(this.root, sha1.slice(0, 2)), { recursive: true });
      // Same name means same content: replacing an existing copy is harmless.
      await rename(tmpPath, final);
      moved = true;
      return { sha1, sha256, size };
    } finally {
      if (!moved) await rm(tmpPath, { force: true });
    }
  }
}

/** Records a stored file in the librarian's index (idempotent). */
export async function recordFile(db: Kysely<Database>, f: StoredFile): Promise<void> {
  await db
    .insertInto('files')
    .values({ sha1: f.sha1, sha256: f.sha256, size: f.size, created_at: nowText() })
    .onConflict((oc) => oc.column('sha1').doNothing())
    .execute();
}

/**
 * A single `bytes=` range of a file of `size` bytes: [start, end] inclusive, `null` when there is
 * no usable Range header (serve it whole), 'unsatisfiable' for a 416.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  // Multiple ranges or another unit: RFC 9110 lets a server ignore Range and send it all.
  if (!m) return null;
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return null;
  return { start, end };
}
