// Launchpad's chroot tarballs hold everything under a top-level `chroot-autobuild/` directory
// (launchpad-buildd unpacks them with `tar -C ~/build-<id> -xf`). sbuild's unshare mode wants the
// chroot's root at the top of the tarball, and unpacking + repacking would need root to keep
// device nodes and ownership. So we rewrite the tar stream itself: same headers and data, names
// with the `chroot-autobuild/` prefix removed. The result (uncompressed) is kept per chroot SHA-1,
// so each chroot is converted once.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

export const LP_CHROOT_DIR = 'chroot-autobuild';
const BLOCK = 512;

/** Decompressed bytes of a tarball (gzip in-process; xz, bzip2 and zstd through their tools). */
async function decompressed(path: string): Promise<Readable> {
  const fh = await open(path, 'r');
  const magic = Buffer.alloc(6);
  await fh.read(magic, 0, 6, 0);
  await fh.close();
  const raw = createReadStream(path);
  if (magic[0] === 0x1f && magic[1] === 0x8b) return raw.pipe(createGunzip());
  const tool =
    magic.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) ? 'xz'
    : magic.subarray(0, 3).toString('latin1') === 'BZh' ? 'bzip2'
    : magic.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])) ? 'zstd'
    : null;
  if (!tool) return raw;
  raw.destroy();
  const child = spawn(tool, ['-dc', path], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', (e) => child.stdout.destroy(e));
  child.on('exit', (code) => {
    if (code) child.stdout.destroy(new Error(`${tool} -dc exited with ${code}`));
  });
  return child.stdout;
}

function cstring(buf: Buffer, start: number, len: number): string {
  const field = buf.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function readSize(h: Buffer): number {
  if (h[124]! & 0x80) {
    // GNU base-256 for sizes that do not fit in 11 octal digits.
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + h[i]!;
    return n;
  }
  const s = cstring(h, 124, 12).trim();
  return s ? parseInt(s, 8) : 0;
}

function writeOctal(h: Buffer, start: number, len: number, n: number): void {
  h.write(`${n.toString(8).padStart(len - 1, '0')}\0`, start, len, 'latin1');
}

function setChecksum(h: Buffer): void {
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
}

function setField(h: Buffer, start: number, len: number, value: string): void {
  h.fill(0, start, start + len);
  h.write(value, start, len, 'utf8');
}

/** `chroot-autobuild/etc/x` -> `./etc/x`; `chroot-autobuild/` -> `./`; null if outside it. */
export function reroot(name: string): string | null {
  const n = name.replace(/^\.\//, '');
  if (n === LP_CHROOT_DIR || n === `${LP_CHROOT_DIR}/`) return './';
  if (!n.startsWith(`${LP_CHROOT_DIR}/`)) return null;
  return `./${n.slice(LP_CHROOT_DIR.length + 1)}`;
}

class NotLaunchpadLayout extends Error {}

/**
 * Rewrites a tar stream, removing the `chroot-autobuild/` prefix from member names (and from
 * hard-link targets, which are archive paths; symlink targets are left alone). Handles ustar
 * prefix fields, GNU long names (L/K) and pax path/linkpath records.
 */
class RerootTar extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of member data still to pass through unchanged (including padding). */
  private copyLeft = 0;
  /** A GNU L/K or pax x member being collected so that it can be rewritten. */
  private meta: { header: Buffer; size: number; chunks: Buffer[]; got: number } | null = null;
  private sawFirst = false;
  private ended = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      this.drain();
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.ended) return cb();
    // Some tools omit the end-of-archive blocks; anything else left over means a cut archive.
    if (this.copyLeft || this.meta || this.pending.length) return cb(new Error('truncated tar archive'));
    this.push(Buffer.alloc(2 * BLOCK));
    cb();
  }

  private drain(): void {
    for (;;) {
      if (this.ended) {
        this.pending = Buffer.alloc(0); // trailing padding after the end-of-archive marker
        return;
      }
      if (this.copyLeft > 0) {
        const n = Math.min(this.copyLeft, this.pending.length);
        if (n === 0) return;
        this.push(this.pending.subarray(0, n));
        this.pending = this.pending.subarray(n);
        this.copyLeft -= n;
        continue;
      }
      if (this.meta) {
        const m = this.meta;
        const want = Math.ceil(m.size / BLOCK) * BLOCK - m.got;
        const n = Math.min(want, this.pending.length);
        if (n === 0 && want > 0) return;
        m.chunks.push(this.pending.subarray(0, n));
        m.got += n;
        this.pending = this.pending.subarray(n);
        if (m.got === Math.ceil(m.size / BLOCK) * BLOCK) {
          this.meta = null;
          this.emitMeta(m.header, Buffer.concat(m.chunks).subarray(0, m.size));
        }
        continue;
      }
      if (this.pending.length < BLOCK) return;
      const h = Buffer.from(this.pending.subarray(0, BLOCK));
      this.pending = this.pending.subarray(BLOCK);
      if (h.every((b) => b === 0)) {
        // End of archive: write the two zero blocks and stop.
        this.push(Buffer.alloc(2 * BLOCK));
        this.ended = true;
        continue;
      }
      const type = String.fromCharCode(h[156]!);
      const size = readSize(h);
      if (type === 'L' || type === 'K' || type === 'x') {
        this.meta = { header: h, size, chunks: [], got: 0 };
        continue;
      }
      this.rewriteHeader(h, type);
      this.push(h);
      this.copyLeft = Math.ceil(size / BLOCK) * BLOCK;
    }
  }

  private rewriteHeader(h: Buffer, type: string): void {
    const prefix = h.subarray(257, 262).toString('latin1') === 'ustar' ? cstring(h, 345, 155) : '';
    const name = cstring(h, 0, 100);
    const full = prefix ? `${prefix}/${name}` : name;
    const next = this.checkedReroot(full);
    if (Buffer.byteLength(next) <= 100) {
      setField(h, 0, 100, next);
      if (prefix) setField(h, 345, 155, '');
    } else {
      // Only ever shorter than before, so the ustar split still fits.
      const cut = next.lastIndexOf('/', 155);
      setField(h, 345, 155, next.slice(0, cut));
      setField(h, 0, 100, next.slice(cut + 1));
    }
    if (type === '1') {
      const target = reroot(cstring(h, 157, 100));
      if (target !== null) setField(h, 157, 100, target);
    }
    setChecksum(h);
  }

  private checkedReroot(name: string): string {
    const next = reroot(name);
    if (next === null) {
      if (!this.sawFirst) throw new NotLaunchpadLayout(name);
      throw new Error(`tar member outside ${LP_CHROOT_DIR}/: ${name}`);
    }
    this.sawFirst = true;
    return next;
  }

  /** Re-emits a GNU long name/link or pax header with rewritten paths. */
  private emitMeta(header: Buffer, data: Buffer): void {
    const type = String.fromCharCode(header[156]!);
    let out: Buffer;
    if (type === 'L') out = Buffer.from(`${this.checkedReroot(data.toString('utf8').replace(/\0+$/, ''))}\0`);
    else if (type === 'K') {
      // Long link target: only meaningful to rewrite for hard links, but a GNU K entry does not say
      // which kind follows; Launchpad chroots have none this long, so keep it unless it is in-tree.
      const t = data.toString('utf8').replace(/\0+$/, '');
      out = Buffer.from(`${reroot(t) ?? t}\0`);
    } else out = this.rewritePax(data);
    writeOctal(header, 124, 12, out.length);
    setChecksum(header);
    const padded = Buffer.alloc(Math.ceil(out.length / BLOCK) * BLOCK);
    out.copy(padded);
    this.push(header);
    this.push(padded);
  }

  private rewritePax(data: Buffer): Buffer {
    const records: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      const sp = data.indexOf(0x20, pos);
      const len = sp < 0 ? NaN : parseInt(data.subarray(pos, sp).toString('latin1'), 10);
      if (!(len > sp - pos + 1) || pos + len > data.length) throw new Error('bad pax header');
      const kv = data.subarray(sp + 1, pos + len - 1).toString('utf8'); // without the trailing \n
      pos += len;
      const eq = kv.indexOf('=');
      const key = kv.slice(0, eq);
      let value = kv.slice(eq + 1);
      if (key === 'path') value = this.checkedReroot(value);
      else if (key === 'linkpath') value = reroot(value) ?? value;
      // A record's length counts its own digits: find the fixed point.
      const body = Buffer.byteLength(` ${key}=${value}\n`);
      let n = body + 1;
      while (String(n).length + body !== n) n = String(n).length + body;
      records.push(Buffer.from(`${n} ${key}=${value}\n`));
    }
    return Buffer.concat(records);
  }
}

/**
 * The tarball to hand to sbuild: the cached file itself, or (for Launchpad's layout) a re-rooted
 * copy under `convertDir`, made once per chroot.
 */
export async function chrootForSbuild(cacheDir: string, chrootsum: string, convertDir: string): Promise<{ path: string; converted: boolean }> {
  const source = join(cacheDir, chrootsum);
  const dest = join(convertDir, `${chrootsum}.tar`);
  if (await isFile(dest)) return { path: dest, converted: true };
  await mkdir(convertDir, { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    await pipeline(await decompressed(source), new RerootTar(), createWriteStream(tmp));
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof NotLaunchpadLayout) return { path: source, converted: false };
    throw e;
  }
  await rename(tmp, dest);
  // Conversions of chroots that have left the cache are dead weight.
  for (const f of await readdir(convertDir)) {
    if (f.endsWith('.tar') && !(await isFile(join(cacheDir, f.slice(0, -'.tar'.length))))) await rm(join(convertDir, f), { force: true });
  }
  return { path: dest, converted: true };
}

const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);
