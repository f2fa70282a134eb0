// What has been published and what failed, kept in <dataDir>/repo/publish-state.json so that a
// restart neither publishes twice nor forgets a failed job (it is retried with back-off).
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

export interface PublishedRecord {
  dist: string;
  suite: string;
  changes: string;
  at: string;
}

export interface FailureRecord {
  attempts: number;
  error: string;
  /** Epoch ms of the next attempt. */
  nextAt: number;
}

interface StateFile {
  published: Record<string, PublishedRecord>;
  failures: Record<string, FailureRecord>;
}

export class PublishState {
  private data: StateFile = { published: {}, failures: {} };
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {
    if (existsSync(file)) {
      try {
        const d = JSON.parse(readFileSync(file, 'utf8')) as Partial<StateFile>;
        this.data = { published: d.published ?? {}, failures: d.failures ?? {} };
      } catch {
        // A damaged file only costs a replay, and replays are harmless.
      }
    }
  }

  isPublished(jobId: number): boolean {
    return String(jobId) in this.data.published;
  }

  failure(jobId: number): FailureRecord | undefined {
    return this.data.failures[String(jobId)];
  }

  failures(): Record<string, FailureRecord> {
    return { ...this.data.failures };
  }

  published(): Record<string, PublishedRecord> {
    return { ...this.data.published };
  }

  markPublished(jobId: number, r: PublishedRecord): Promise<void> {
    this.data.published[String(jobId)] = r;
    delete this.data.failures[String(jobId)];
    return this.save();
  }

  markFailed(jobId: number, error: string, retryBaseMs: number, retryMaxMs: number): Promise<FailureRecord> {
    const prev = this.data.failures[String(jobId)];
    const attempts = (prev?.attempts ?? 0) + 1;
    const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempts - 1));
    const rec = { attempts, error, nextAt: Date.now() + delay };
    this.data.failures[String(jobId)] = rec;
    return this.save().then(() => rec);
  }

  private save(): Promise<void> {
    const body = JSON.stringify(this.data, null, 1);
    this.writing = this.writing.then(async () => {
      const tmp = `${this.file}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, this.file);
    });
    return this.writing;
  }
}
