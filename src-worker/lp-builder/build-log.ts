// The build log: <cache>/buildlog, truncated when a build starts and deleted by clean().
// Writes are synchronous appends so that a status() logtail read always sees everything written
// so far, and so that ordering with process output needs no flushing logic.
import { closeSync, openSync, writeSync } from 'node:fs';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import type { BuildLog } from '../backends/backend';
import { sanitiseLine, sanitiseText } from './sanitise';

export const LOGTAIL_BYTES = 2048;

export class BuildLogFile implements BuildLog {
  private fd: number | null;
  /** Set once the whole log has been scrubbed: later lines are scrubbed on the way in. */
  private scrubWrites = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(text: string): void {
    if (this.fd === null) return; // a straggler after clean(): the log is gone
    writeSync(this.fd, this.scrubWrites ? sanitiseText(text) : text);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /**
   * Private builds (§3.6): keep the original as `unsanitizedPath` and rewrite the log without
   * credentials in URLs. Done at the end of the build, before WAITING.
   */
  async scrub(unsanitizedPath: string): Promise<void> {
    if (this.fd === null) return;
    this.close();
    await rename(this.path, unsanitizedPath);
    const raw = await readFile(unsanitizedPath);
    await writeFile(this.path, sanitiseText(raw.toString('latin1')), 'latin1');
    this.fd = openSync(this.path, 'a');
    this.scrubWrites = true;
  }
}

/**
 * The last 2048 bytes of the log, or empty if there is none. For private builds the first line
 * of the excerpt is dropped (it may be cut mid-credential) and the rest scrubbed, as the original.
 */
export async function readLogTail(path: string, sanitise: boolean): Promise<Buffer> {
  let tail: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const count = Math.min(size, LOGTAIL_BYTES);
      tail = Buffer.alloc(count);
      const { bytesRead } = await fh.read(tail, 0, count, size - count);
      tail = tail.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return Buffer.alloc(0); // vanished (clean-up race): an empty tail, as the original
  }
  if (!sanitise) return tail;
  // Python's bytes.splitlines() then "\n".join(): line ends are normalised and the last one dropped.
  const lines = tail.toString('latin1').split(/\r\n|\r|\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return Buffer.from(lines.slice(1).map(sanitiseLine).join('\n'), 'latin1');
}
