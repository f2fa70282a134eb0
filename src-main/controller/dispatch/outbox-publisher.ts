// Publishes the `outbox` table to RabbitMQ. The controller writes a message row in the same
// transaction as the job it is about (so a job never exists without its message, nor a message
// without its job), then emits `outbox.pending`; this class sends the rows and marks them sent.
//
// Guarantees:
// * A row is marked sent only after the broker confirmed it (publisher confirms), and only if
//   it was not returned unroutable first (basic.return arrives before the ack).
// * Nothing is lost while the broker is away: rows stay unsent and go out after reconnecting.
//   A message whose confirm was lost with a dropped connection is published again, so delivery
//   is at-least-once; consumers dedupe by their atomic claim in the database.
// * Throughput: up to `window` messages are unconfirmed at a time, and rows are marked sent in
//   batched UPDATEs as confirms arrive. (Awaiting each confirm caps a publisher at ~1.4k/s.)
//   Rows a submission has just committed are handed over in memory (domain/outbox.ts), so the
//   publisher does not read back what it was just told, and sent at once when their queue is
//   already declared on the channel; every other kick reads the table.
// * Nothing here throws into the caller or leaves an unhandled rejection.
import type { ConfirmChannel, Message } from 'amqplib';
import type { Db } from '../db/connect';
import type { EventBus } from '../events';
import type { Logger } from '../logger';
import { nowText, toDbTime } from '../db/time';
import { PYBIT_EXCHANGE, type AmqpLink } from './amqp-link';
import { sql } from 'kysely';
import { takeOutboxRows, type PendingOutboxRow } from '../domain/outbox';

export interface OutboxPublisherOptions {
  db: Db;
  link: AmqpLink;
  log: Logger;
  /** `outbox.pending` events kick a flush. */
  events?: EventBus;
  /** Safety-net poll for delayed retries and rows written by other processes. Default 1000 ms. */
  pollMs?: number;
  /** Unconfirmed messages allowed in flight. Default 1000. */
  window?: number;
  /** Rows read per query. Default 500. */
  batchSize?: number;
  /** Back-off after a return/nack/declare failure: base * 2^(attempts-1). Default 2000 ms. */
  retryBaseMs?: number;
  /** Back-off cap. Default 60 s. */
  retryMaxMs?: number;
  /** A row returned (or refused at declare) this many times is marked dead. Default 5. */
  maxReturns?: number;
  /** How long stop() waits for in-flight confirms. Default 2000 ms. */
  stopWaitMs?: number;
}

export interface OutboxStats {
  /** Messages confirmed by the broker (and so marked sent). */
  published: number;
  /** Nacks, channel losses with messages in flight, declare failures. */
  publishFailures: number;
  /** Mandatory returns (unroutable). */
  returned: number;
  /** Published, not yet confirmed. */
  inFlight: number;
}

type OutboxRow = PendingOutboxRow;

interface InFlight {
  row: OutboxRow;
  ch: ConfirmChannel;
  returned: string | null;
}

/** Ids per UPDATE that marks rows sent. */
const UPDATE_CHUNK = 500;
/** How long confirms gather before their rows are marked sent in one UPDATE. */
const MARK_DELAY_MS = 10;
/** Ids marked sent lately, remembered so that rows handed over late are not sent twice. */
const RECENT_SENT = 10_000;

/** What a channel remembers having declared and bound for a build message's queue. */
function queueKey(row: Pick<OutboxRow, 'queue' | 'exchange' | 'routing_key'>): string {
  return `q\0${row.queue}\0${row.exchange}\0${row.routing_key}`;
}

export class OutboxPublisher {
  private readonly db: Db;
  private readonly link: AmqpLink;
  private readonly log: Logger;
  private readonly events?: EventBus;
  private readonly pollMs: number;
  private readonly window: number;
  private readonly batchSize: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxReturns: number;
  private readonly stopWaitMs: number;

  private running = false;
  private unsubscribe: Array<() => void> = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAt = Infinity;
  private kickScheduled = false;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  /** A kick asked for a read of the table (not just the rows handed over). */
  private readPending = false;
  /** A send found amqplib's buffer full: publish through a flush, which waits for 'drain'. */
  private congested = false;
  /** Rows handed over after commit, not yet published. */
  private offered: OutboxRow[] = [];
  private readonly recentlySent = new Set<number>();

  /** Published, awaiting the broker's ack/nack. Keyed by outbox id. */
  private readonly unconfirmed = new Map<number, InFlight>();
  /**
   * Ids that must not be read and published again yet: unconfirmed, or confirmed/returned with
   * the database write still pending. Without this a flush could republish a row between its
   * confirm and its `sent_at` commit.
   */
  private readonly busy = new Set<number>();
  private windowWaiters: Array<() => void> = [];
  /** Queue declares and bindings done per channel (a new channel starts from scratch). */
  private readonly declared = new WeakMap<ConfirmChannel, Set<string>>();
  private readonly closedChannels = new WeakSet<ConfirmChannel>();
  private readonly watched = new WeakSet<ConfirmChannel>();

  private toMark: number[] = [];
  private markTimer: NodeJS.Timeout | null = null;
  /** Serialises our database writes, so stop() can wait for them. */
  private writes: Promise<void> = Promise.resolve();

  private readonly counters = { published: 0, publishFailures: 0, returned: 0 };

  constructor(opts: OutboxPublisherOptions) {
    this.db = opts.db;
    this.link = opts.link;
    this.log = opts.log;
    this.events = opts.events;
    this.pollMs = opts.pollMs ?? 1000;
    this.window = Math.max(1, opts.window ?? 1000);
    this.batchSize = Math.max(1, opts.batchSize ?? 500);
    this.retryBaseMs = opts.retryBaseMs ?? 2000;
    this.retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.maxReturns = opts.maxReturns ?? 5;
    this.stopWaitMs = opts.stopWaitMs ?? 2000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.events) {
      this.unsubscribe.push(
        this.events.on((e) => {
          if (e.type === 'outbox.pending') this.kick();
        }),
      );
    }
    // Every (re)connect: whatever piled up while the broker was away goes out now.
    this.unsubscribe.push(this.link.on('connected', () => this.kick()));
    this.unsubscribe.push(takeOutboxRows(this.db, (rows) => this.take(rows)));
    this.pollTimer = setInterval(() => this.kick(), this.pollMs);
    this.pollTimer.unref();
    this.kick();
  }

  /** Schedule one flush that reads the table soon; many kicks in the same tick make one flush. */
  kick(): void {
    if (!this.running) return;
    this.readPending = true;
    this.schedule();
  }

  /**
   * Committed rows handed over by their writer: published without reading them back. Refused
   * (false) while disconnected; the rows then wait in the table for the next read.
   */
  private take(rows: readonly OutboxRow[]): boolean {
    if (!this.running || !this.link.isConnected()) return false;
    if (this.publishNow(rows)) return true;
    for (const r of rows) this.offered.push(r);
    this.schedule();
    return true;
  }

  private schedule(): void {
    if (!this.running || this.kickScheduled) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      void this.flush();
    });
  }

  /** Stop publishing; wait up to `stopWaitMs` for in-flight confirms and their DB writes. */
  async stop(): Promise<void> {
    if (!this.running) {
      await this.writes;
      return;
    }
    this.running = false;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pollTimer = this.retryTimer = null;
    this.retryAt = Infinity;
    this.wakeWindow();
    if (this.flushing) await this.flushing;
    const deadline = Date.now() + this.stopWaitMs;
    while (this.unconfirmed.size > 0 && Date.now() < deadline) await sleep(10);
    // Whatever is still unconfirmed stays unsent in the DB and goes out on the next start.
    this.flushMarks();
    await this.writes;
  }

  stats(): OutboxStats {
    return { ...this.counters, inFlight: this.unconfirmed.size };
  }

  /** Rows not yet sent and not dead (including ones waiting for a retry). */
  async pendingCount(): Promise<number> {
    const r = await this.db.kysely
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('sent_at', 'is', null)
      .where('dead_at', 'is', null)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  // ---- publishing ----

  /** Single-flight: a kick during a flush makes the flush go round once more. Never rejects. */
  private flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    const run = async () => {
      try {
        do {
          this.flushAgain = false;
          const offered = this.offered;
          this.offered = [];
          // A read of the table finds the handed-over rows too (they were committed first).
          if (this.readPending) {
            this.readPending = false;
            await this.drain();
          } else {
            await this.publishRows(offered);
          }
        } while ((this.flushAgain || this.offered.length > 0) && this.running);
      } catch (err) {
        // A database hiccup: the poll tries again.
        this.log.warn(`outbox flush failed: ${(err as Error).message}`);
      } finally {
        this.flushing = null;
      }
    };
    this.flushing = run();
    return this.flushing;
  }

  /** Publish every due row, in id order, on the current confirm channel. */
  private async drain(): Promise<void> {
    if (!this.running || !this.link.isConnected()) return;
    let ch: ConfirmChannel;
    try {
      ch = await this.link.confirmChannel();
    } catch {
      return; // disconnected meanwhile; 'connected' will kick us
    }
    this.watch(ch);
    // Each drain starts from the lowest id: a PostgreSQL transaction may commit a lower id
    // after a higher one was read, and failed rows come back after their back-off.
    let cursor = 0;
    for (;;) {
      if (!this.usable(ch)) return;
      const rows = await this.db.kysely
        .selectFrom('outbox')
        .select(['id', 'exchange', 'routing_key', 'queue', 'body', 'persistent', 'attempts'])
        .where('sent_at', 'is', null)
        .where('dead_at', 'is', null)
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', nowText())]))
        .where('id', '>', cursor)
        .orderBy('id')
        .limit(this.batchSize)
        .execute();
      for (const row of rows) {
        cursor = row.id;
        if (this.busy.has(row.id)) continue;
        await this.waitForWindow(ch);
        if (!this.usable(ch)) return;
        if (!(await this.publishOne(ch, row))) return;
      }
      if (rows.length < this.batchSize) return;
    }
  }

  /** Publish rows handed over; whatever cannot go now stays unsent in the table. */
  private async publishRows(rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0 || !this.running || !this.link.isConnected()) return;
    let ch: ConfirmChannel;
    try {
      ch = await this.link.confirmChannel();
    } catch {
      return;
    }
    this.watch(ch);
    for (const row of rows) {
      if (this.busy.has(row.id) || this.recentlySent.has(row.id)) continue;
      await this.waitForWindow(ch);
      if (!this.usable(ch)) return;
      if (!(await this.publishOne(ch, row))) return;
    }
  }

  private usable(ch: ConfirmChannel): boolean {
    return this.running && !this.closedChannels.has(ch) && this.link.currentConfirmChannel() === ch;
  }

  /** Listen for returns and closure once per channel. */
  private watch(ch: ConfirmChannel): void {
    if (this.watched.has(ch)) return;
    this.watched.add(ch);
    // basic.return for a mandatory message comes before its basic.ack: flag the in-flight entry
    // so the ack does not mark the row sent.
    ch.on('return', (msg: Message) => {
      const id = parseMessageId(msg.properties.messageId);
      const e = id === null ? undefined : this.unconfirmed.get(id);
      // A returned message's fields carry basic.return's reply code/text (not in the typings).
      const f = msg.fields as unknown as { replyCode?: number; replyText?: string };
      if (e && e.ch === ch) e.returned = `${f.replyCode ?? ''} ${f.replyText ?? 'returned'}`.trim();
    });
    ch.on('close', () => {
      this.closedChannels.add(ch);
      this.wakeWindow();
      // A channel error (not a lost connection) leaves the link up with no channel: start over
      // on a new one shortly. A lost connection kicks us via 'connected' instead.
      if (this.running && this.link.isConnected()) {
        setTimeout(() => this.kick(), 100).unref();
      }
    });
  }

  /**
   * Declare/bind if needed, then publish one row. Returns false when the channel is no longer
   * usable (the caller stops this drain).
   */
  private async publishOne(ch: ConfirmChannel, row: OutboxRow): Promise<boolean> {
    let declared = this.declared.get(ch);
    if (!declared) {
      declared = new Set();
      this.declared.set(ch, declared);
    }
    try {
      // Publishing to a missing exchange closes the channel (404) and fails every message in
      // flight on it, so make sure any exchange other than the default and pybit (declared by
      // the link) exists, with pybit's flags.
      if (row.exchange !== '' && row.exchange !== PYBIT_EXCHANGE && !declared.has(`x\0${row.exchange}`)) {
        await ch.assertExchange(row.exchange, 'direct', { durable: true, autoDelete: false });
        declared.add(`x\0${row.exchange}`);
      }
      // pyBit declares and binds the build queue before every publish so messages queue up even
      // if no client ever connected (§4); once per channel is enough for the same effect.
      const key = queueKey(row);
      if (row.queue && !declared.has(key)) {
        await ch.assertQueue(row.queue, { durable: true, exclusive: false, autoDelete: false });
        if (row.exchange !== '') await ch.bindQueue(row.queue, row.exchange, row.routing_key);
        declared.add(key);
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') {
        // The broker refused the declare (e.g. 406: the queue exists with other flags). The
        // channel is gone; back the row off like a return, so one bad row cannot wedge the
        // publisher by killing every channel it gets.
        this.counters.publishFailures++;
        this.busy.add(row.id);
        this.retryLater(row, `declare refused: ${(err as Error).message}`, true);
      }
      return false;
    }

    // Sent meanwhile, while this flush awaited a declare or the window, by the handover fast path.
    if (this.busy.has(row.id) || this.recentlySent.has(row.id)) return true;
    const sent = this.send(ch, row);
    if (sent === 'full') await waitForDrain(ch);
    if (sent !== false) this.congested = false;
    return sent !== false;
  }

  /**
   * Hand one row to the channel (declares done). False when the channel closed under us; 'full'
   * when amqplib's write buffer is past its mark and the caller should wait for 'drain'.
   */
  private send(ch: ConfirmChannel, row: OutboxRow): boolean | 'full' {
    const entry: InFlight = { row, ch, returned: null };
    this.unconfirmed.set(row.id, entry);
    this.busy.add(row.id);
    let writable: boolean;
    try {
      writable = ch.publish(
        row.exchange,
        row.routing_key,
        Buffer.from(row.body, 'utf8'),
        // pyBit sets no content-type or other properties (§4); messageId lets us match returns.
        { persistent: row.persistent !== 0, mandatory: true, messageId: `outbox-${row.id}` },
        (err) => this.onConfirm(entry, err),
      );
    } catch {
      // The channel closed under us: the confirm callback will never come.
      if (this.unconfirmed.get(row.id) === entry) {
        this.unconfirmed.delete(row.id);
        this.busy.delete(row.id);
      }
      return false;
    }
    return writable ? true : 'full';
  }

  /**
   * Publish handed-over rows in the writer's own tick when nothing has to be awaited first: the
   * channel open with every row's queue already declared on it, room in the window and in
   * amqplib's buffer. A submission's message then goes out with amqplib's next write, right
   * after the HTTP answer, instead of a turn or two of the event loop later (behind the
   * job.created listeners and whatever I/O came in meanwhile). A flush running meanwhile may
   * read the same rows; each side checks `busy` right before sending, so a row goes once.
   * False, with nothing published, when any of that does not hold (the caller queues the rows
   * for a flush).
   */
  private publishNow(rows: readonly OutboxRow[]): boolean {
    if (this.congested) return false;
    const ch = this.link.currentConfirmChannel();
    if (!ch || !this.watched.has(ch) || !this.usable(ch) || this.unconfirmed.size + rows.length > this.window) return false;
    const declared = this.declared.get(ch);
    if (!declared) return false;
    for (const row of rows) {
      if (row.exchange !== '' && row.exchange !== PYBIT_EXCHANGE && !declared.has(`x\0${row.exchange}`)) return false;
      if (row.queue && !declared.has(queueKey(row))) return false;
    }
    for (const row of rows) {
      if (this.busy.has(row.id) || this.recentlySent.has(row.id)) continue;
      const sent = this.send(ch, row);
      // A closed channel: what was not sent stays unsent in the table, and 'close' kicks a read.
      if (sent === false) return true;
      // amqplib buffers it anyway; later rows wait for a flush, which waits for 'drain'.
      if (sent === 'full') this.congested = true;
    }
    return true;
  }

  private onConfirm(entry: InFlight, err: unknown): void {
    const id = entry.row.id;
    if (this.unconfirmed.get(id) !== entry) return;
    this.unconfirmed.delete(id);
    this.wakeWindow();
    if (err) {
      this.counters.publishFailures++;
      if (/nack/i.test((err as Error).message ?? '')) {
        // The broker refused it (e.g. a queue at max length with reject-publish): try later,
        // without counting towards dead; that is for unroutable messages.
        this.retryLater(entry.row, 'nacked by the broker', false);
      } else {
        // Channel or connection gone: the broker may or may not have it. Leave the row unsent;
        // the next channel publishes it again (at-least-once).
        this.busy.delete(id);
      }
      return;
    }
    if (entry.returned !== null) {
      this.counters.returned++;
      // Unroutable although declared on this channel: the queue was deleted behind our back.
      // Declare it again before the retry, or every later message to it would bounce too.
      this.declared.get(entry.ch)?.delete(queueKey(entry.row));
      this.retryLater(entry.row, `returned (${entry.returned})`, true);
      return;
    }
    this.counters.published++;
    this.toMark.push(id);
    if (this.toMark.length >= UPDATE_CHUNK) this.flushMarks();
    else if (!this.markTimer) {
      // A few milliseconds gather the confirms of several submissions even when they arrive
      // one at a time; the rows stay busy (not republished) until marked.
      this.markTimer = setTimeout(() => this.flushMarks(), MARK_DELAY_MS);
      this.markTimer.unref();
    }
  }

  // ---- database writes ----

  private flushMarks(): void {
    if (this.markTimer) clearTimeout(this.markTimer);
    this.markTimer = null;
    if (this.toMark.length === 0) return;
    const ids = this.toMark;
    this.toMark = [];
    this.enqueueWrite(async () => {
      const now = nowText();
      for (let i = 0; i < ids.length; i += UPDATE_CHUNK) {
        const chunk = ids.slice(i, i + UPDATE_CHUNK);
        try {
          // One statement shape whatever the number of ids (a prepared statement, not one per count).
          const ids =
            this.db.dialect === 'postgres'
              ? sql<boolean>`id = any(${chunk}::integer[])`
              : sql<boolean>`id in (select value from json_each(${JSON.stringify(chunk)}))`;
          await this.db.kysely.updateTable('outbox').set({ sent_at: now }).where(ids).where('sent_at', 'is', null).execute();
        } catch (err) {
          // Confirmed but not recorded. Keep the ids busy (so they are not republished) and
          // retry the write shortly; if we stop first they go out again next start: at-least-once.
          this.log.warn(`outbox: marking ${chunk.length} row(s) sent failed: ${(err as Error).message}`);
          const rest = ids.slice(i);
          setTimeout(() => {
            this.toMark.push(...rest);
            this.flushMarks();
          }, 1000).unref();
          return;
        }
        for (const id of chunk) {
          this.busy.delete(id);
          this.recentlySent.add(id);
        }
        // Insertion order: the oldest ids go first.
        for (const id of this.recentlySent) {
          if (this.recentlySent.size <= RECENT_SENT) break;
          this.recentlySent.delete(id);
        }
      }
    });
  }

  /**
   * Back a row off: attempts+1 and a next attempt after an exponential delay; or dead once
   * `counts` failures reached maxReturns.
   */
  private retryLater(row: OutboxRow, why: string, counts: boolean): void {
    const attempts = counts ? row.attempts + 1 : row.attempts;
    const dead = counts && attempts >= this.maxReturns;
    const delay = Math.min(this.retryBaseMs * 2 ** Math.max(0, attempts - 1), this.retryMaxMs);
    const where = `${row.exchange || '(default)'}/${row.routing_key}`;
    if (dead) {
      this.log.warn(`outbox row ${row.id} to ${where} ${why}, ${attempts} time(s): giving up (dead)`);
    } else {
      this.log.info(`outbox row ${row.id} to ${where} ${why}; attempt ${attempts}, retrying in ${delay} ms`);
    }
    this.enqueueWrite(async () => {
      try {
        const now = new Date();
        await this.db.kysely
          .updateTable('outbox')
          .set(
            dead
              ? { attempts, dead_at: toDbTime(now), next_attempt_at: null }
              : { attempts, next_attempt_at: toDbTime(new Date(now.getTime() + delay)) },
          )
          .where('id', '=', row.id)
          .execute();
        if (!dead) this.scheduleRetryKick(delay);
      } catch (err) {
        // Not recorded: the row simply stays due and is published again on the next flush.
        this.log.warn(`outbox: recording retry of row ${row.id} failed: ${(err as Error).message}`);
      } finally {
        this.busy.delete(row.id);
      }
    });
  }

  private enqueueWrite(fn: () => Promise<void>): void {
    this.writes = this.writes.then(fn).catch((err) => {
      this.log.error(`outbox write failed: ${(err as Error).message}`);
    });
  }

  /** Kick when the earliest back-off ends, so short back-offs need not wait for the poll. */
  private scheduleRetryKick(delayMs: number): void {
    if (!this.running) return;
    const at = Date.now() + delayMs;
    if (this.retryTimer && at >= this.retryAt) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    // +5 ms: next_attempt_at is compared with the clock when we read, so do not arrive early.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryAt = Infinity;
      this.kick();
    }, delayMs + 5);
    this.retryTimer.unref();
  }

  // ---- window ----

  private async waitForWindow(ch: ConfirmChannel): Promise<void> {
    while (this.unconfirmed.size >= this.window && this.usable(ch)) {
      await new Promise<void>((resolve) => this.windowWaiters.push(resolve));
    }
  }

  private wakeWindow(): void {
    if (this.windowWaiters.length === 0) return;
    const waiters = this.windowWaiters;
    this.windowWaiters = [];
    for (const w of waiters) w();
  }
}

function parseMessageId(id: unknown): number | null {
  if (typeof id !== 'string' || !id.startsWith('outbox-')) return null;
  const n = Number(id.slice(7));
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * amqplib's publish() returns false when its write buffer is full; wait for room, the channel's
 * end, or at most a second (so a hung socket cannot hold up stop(); the window still bounds
 * how much we buffer).
 */
function waitForDrain(ch: ConfirmChannel): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      ch.off('drain', done);
      ch.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, 1000);
    ch.on('drain', done);
    ch.on('close', done);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
