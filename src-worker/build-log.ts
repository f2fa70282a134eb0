// Build logs: one file per build, named the way pyBit names them (spec/pybit.md §5.4, checklist 57),
// written synchronously so that `size` is always the number of bytes on disk and an uploader
// can read new bytes by offset while the build runs.
import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BuildLog } from './backends/backend';
import { scrubCredentials } from './scrub';

/** `<buildroot>/logs/<pkg>_<ver>-<arch>-<epoch>` (pyBit's naming; the epoch is in seconds). */
export function buildLogPath(buildroot: string, pkg: string, version: string, arch: string, epoch: number): string {
  for (const part of [pkg, version, arch]) {
    if (part.includes('/') || part.includes('\0') || part === '..' || part === '') {
      throw new Error(`unsafe build log name component: ${JSON.stringify(part)}`);
    }
  }
  return join(buildroot, 'logs', `${pkg}_${version}-${arch}-${Math.floor(epoch)}`);
}

export interface LogChunk {
  offset: number;
  data: Buffer;
  /** Offset of the first byte after this chunk. */
  next: number;
}

export interface FileBuildLogOptions {
  /** Remove URL credentials from everything written (default true). */
  scrub?: boolean;
}

export class FileBuildLog implements BuildLog {
  readonly path: string;
  private fd: number | null;
  private bytes: number;
  private readonly scrub: boolean;
  private readonly listeners = new Set<(size: number) => void>();

  constructor(path: string, opts: FileBuildLogOptions = {}) {
    this.path = path;
    this.scrub = opts.scrub ?? true;
    mkdirSync(dirname(path), { recursive: true });
    // Append: a retried build landing in the same second continues the same file.
    this.fd = openSync(path, 'a');
    this.bytes = fstatSync(this.fd).size;
  }

  write(text: string): void {
    if (this.fd === null || text === '') return;
    const buf = Buffer.from(this.scrub ? scrubCredentials(text) : text, 'utf8');
    let done = 0;
    while (done < buf.length) done += writeSync(this.fd, buf, done);
    this.bytes += buf.length;
    for (const l of this.listeners) l(this.bytes);
  }

  /** Bytes written so far (what a reader can fetch). */
  get size(): number {
    return this.bytes;
  }

  get closed(): boolean {
    return this.fd === null;
  }

  /** Reads up to `maxBytes` from `offset`; an empty chunk means nothing new yet. */
  async readChunk(offset: number, maxBytes = 256 * 1024): Promise<LogChunk> {
    const end = Math.min(this.bytes, offset + maxBytes);
    if (offset >= end) return { offset, data: Buffer.alloc(0), next: offset };
    const fh = await open(this.path, 'r');
    try {
      const data = Buffer.alloc(end - offset);
      let got = 0;
      while (got < data.length) {
        const { bytesRead } = await fh.read(data, got, data.length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return { offset, data: data.subarray(0, got), next: offset + got };
    } finally {
      await fh.close();
    }
  }

  /** Called with the new size after every write; returns an unsubscribe function. */
  onWrite(listener: (size: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}

/** An in-memory log for tests and for callers that only need the text. */
export class MemoryBuildLog implements BuildLog {
  text = '';
  constructor(private readonly scrub = true) {}
  write(text: string): void {
    this.text += this.scrub ? scrubCredentials(text) : text;
  }
}

/** Writes to several logs at once (e.g. the file and a live console). */
export class TeeBuildLog implements BuildLog {
  private readonly logs: BuildLog[];
  constructor(...logs: BuildLog[]) {
    this.logs = logs;
  }
  write(text: string): void {
    for (const l of this.logs) l.write(text);
  }
}
