// The real services the bench runs against, and per-run isolation: temp dirs, own PostgreSQL
// schemas, uniquely named suites and queues, all removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import amqp from 'amqplib';

export const PG_URL = process.env.BUILDBOX_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const AMQP_URL = process.env.BUILDBOX_BENCH_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672/';

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/** Everything a section created; `run()` in bench/run.ts cleans it up even when a section fails. */
export class Scope {
  private readonly dirs: string[] = [];
  private readonly schemas: string[] = [];
  private readonly queues = new Set<string>();
  private readonly closers: Array<() => Promise<void>> = [];

  tempDir(prefix = 'buildbox-bench-'): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(d);
    return d;
  }

  /** A postgres:// URL selecting a fresh schema (created by openDatabase). */
  pgSchemaUrl(): { url: string; schema: string } {
    const schema = uniqueName('bench').toLowerCase();
    this.schemas.push(schema);
    const u = new URL(PG_URL);
    u.searchParams.set('schema', schema);
    return { url: u.toString(), schema };
  }

  trackQueue(...names: string[]): void {
    for (const n of names) this.queues.add(n);
  }

  /** Run on cleanup, last registered first (e.g. stop a controller before dropping its schema). */
  onCleanup(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /** Deletes the tracked queues now (each run frees the broker's memory before the next). */
  async deleteQueues(): Promise<void> {
    if (this.queues.size === 0) return;
    const conn = await amqp.connect(AMQP_URL, { noDelay: true });
    conn.on('error', () => {});
    try {
      for (const q of this.queues) {
        const ch = await conn.createChannel();
        ch.on('error', () => {});
        await ch.deleteQueue(q).catch(() => {});
        await ch.close().catch(() => {});
      }
      this.queues.clear();
    } finally {
      await conn.close().catch(() => {});
    }
  }

  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.closers.reverse()) await fn().catch((e) => errors.push(e));
    this.closers.length = 0;
    await this.deleteQueues().catch((e) => errors.push(e));
    if (this.schemas.length) {
      const c = new pg.Client({ connectionString: PG_URL });
      try {
        await c.connect();
        for (const s of this.schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
        this.schemas.length = 0;
      } catch (e) {
        errors.push(e);
      } finally {
        await c.end().catch(() => {});
      }
    }
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    this.dirs.length = 0;
    if (errors.length) throw new Error(`cleanup: ${errors.map((e) => (e as Error).message ?? String(e)).join('; ')}`);
  }
}
