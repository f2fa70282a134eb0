// Streams a growing FileBuildLog to a sink in offset-addressed chunks, at least once a second
// while there is something new. Delivery is at-least-once: a failed send keeps the offset and
// is retried on the next tick, so the receiver must accept a chunk it has already seen.
import type { FileBuildLog } from './build-log';

export type LogChunkSink = (chunk: { offset: number; data: Buffer }) => Promise<void>;

export interface LogStreamerOptions {
  intervalMs?: number;
  maxChunkBytes?: number;
  /** Resume from here (e.g. what the controller already has). */
  startOffset?: number;
  onError?: (err: unknown) => void;
}

export class LogStreamer {
  private sent: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly intervalMs: number;
  private readonly maxChunkBytes: number;

  constructor(
    private readonly log: FileBuildLog,
    private readonly sink: LogChunkSink,
    private readonly opts: LogStreamerOptions = {},
  ) {
    this.sent = opts.startOffset ?? 0;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.maxChunkBytes = opts.maxChunkBytes ?? 256 * 1024;
  }

  /** Bytes the sink has acknowledged. */
  get sentOffset(): number {
    return this.sent;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref?.();
  }

  /** One pass at a time: a slow sink must not get overlapping, out-of-order chunks. */
  private tick(): Promise<void> {
    if (!this.running) {
      this.running = this.drain()
        .catch((err) => this.opts.onError?.(err))
        .finally(() => {
          this.running = null;
        });
    }
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.sent < this.log.size) {
      const chunk = await this.log.readChunk(this.sent, this.maxChunkBytes);
      if (chunk.data.length === 0) return;
      await this.sink({ offset: chunk.offset, data: chunk.data });
      this.sent = chunk.next;
    }
  }

  /** Sends everything written so far; rejects if the sink fails. */
  async flush(): Promise<void> {
    if (this.running) await this.running;
    await this.drain();
  }

  /** Stops the timer and makes a last attempt to send the rest. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
