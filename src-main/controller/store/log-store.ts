// Build logs on disk, <root>/<jobId>.log, written in offset-addressed chunks. A chunk is
// appended only where the log ends; a chunk the store already has (a retry after a lost
// answer) is accepted without change, and a gap is refused with the current length so the
// sender can resume from there. Appends to one log are serialised in-process.
import { mkdirSync, statSync } from 'node:fs';
import { open, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';

export type AppendResult =
  | { ok: true; length: number; appended: number; offset: number }
  | { ok: false; length: number };

export class LogStore {
  private readonly locks = new Map<number, Promise<unknown>>();

  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true });
  }

  path(jobId: number): string {
    return join(this.root, `${jobId}.log`);
  }

  async length(jobId: number): Promise<number> {
    try {
      return (await stat(this.path(jobId))).size;
    } catch {
      return 0;
    }
  }

  private lengthNow(jobId: number): number {
    try {
      return statSync(this.path(jobId)).size;
    } catch {
      return 0;
    }
  }

  private serial<T>(jobId: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(jobId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(jobId, tail);
    void tail.then(() => {
      if (this.locks.get(jobId) === tail) this.locks.delete(jobId);
    });
    return next;
  }

  /**
   * Appends `data` at `offset`. offset == length: appended. offset + data.length <= length: a
   * resend, accepted unchanged. offset < length < offset + data.length: only the new tail is
   * appended. offset > length: refused (ok: false) with the current length.
   */
  append(jobId: number, offset: number, data: Buffer): Promise<AppendResult> {
    return this.serial(jobId, async () => {
      const length = await this.length(jobId);
      if (offset > length) return { ok: false, length };
      const skip = length - offset;
      if (skip >= data.length) return { ok: true, length, appended: 0, offset: length };
      const fh = await open(this.path(jobId), 'a');
      try {
        await fh.write(data, skip);
      } finally {
        await fh.close();
      }
      return { ok: true, length: length + data.length - skip, appended: data.length - skip, offset: length };
    });
  }

  /** Up to `length` bytes from `offset` (fewer at the end of the log). */
  async read(jobId: number, offset: number, length: number): Promise<Buffer> {
    let fh;
    try {
      fh = await open(this.path(jobId), 'r');
    } catch {
      return Buffer.alloc(0);
    }
    try {
      const size = (await fh.stat()).size;
      const n = Math.max(0, Math.min(length, size - offset));
      if (n === 0) return Buffer.alloc(0);
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  /**
   * Starts a new attempt's log: a non-empty current log is kept as <jobId>.attempt<N>.log, so
   * the new lease owner writes from offset 0.
   */
  rotate(jobId: number): Promise<void> {
    return this.serial(jobId, async () => {
      // Synchronous: a claim waits for this, and on a first attempt there is nothing to move.
      if (this.lengthNow(jobId) === 0) return;
      const prefix = `${jobId}.attempt`;
      const n = (await readdir(this.root)).filter((f) => f.startsWith(prefix) && f.endsWith('.log')).length + 1;
      await rename(this.path(jobId), join(this.root, `${prefix}${n}.log`));
    });
  }
}
