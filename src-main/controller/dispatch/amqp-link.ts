// The controller's one long-lived AMQP connection. RabbitMQ is a transport, not the truth
// (the database is), so the link's job is to be there when it can and to never take the
// controller down when it cannot: connection errors are logged, never thrown at callers, and
// the link reconnects with capped exponential back-off until stop().
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { Logger } from '../logger';

/** pyBit's exchange (spec/pybit.md §4): direct, durable, not auto-deleted. */
export const PYBIT_EXCHANGE = 'pybit';

export async function assertPybitExchange(ch: Channel): Promise<void> {
  await ch.assertExchange(PYBIT_EXCHANGE, 'direct', { durable: true, autoDelete: false });
}

/**
 * Socket options for every connection we open. Nagle's algorithm is on by default in amqplib
 * and makes every request/response (publish + confirm, declare, basic.get) wait ~40 ms for the
 * delayed ACK; `noDelay` removes that. `timeout` bounds the TCP connect + handshake so a
 * blackholed broker cannot hang a (re)connect attempt forever.
 */
export function socketOptions(connectTimeoutMs = 10_000): Record<string, unknown> {
  return { noDelay: true, timeout: connectTimeoutMs };
}

export interface AmqpLinkOptions {
  /** First reconnect delay; doubles per failed attempt. Default 250 ms. */
  minDelayMs?: number;
  /** Reconnect delay cap. Default 5 s. */
  maxDelayMs?: number;
  /** TCP connect + AMQP handshake timeout. Default 10 s. */
  connectTimeoutMs?: number;
}

export type AmqpLinkEvent = 'connected' | 'disconnected';

export class AmqpLink {
  private conn: ChannelModel | null = null;
  private confirm: ConfirmChannel | null = null;
  private confirmOpening: Promise<ConfirmChannel> | null = null;
  private running = false;
  private connecting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private delay: number;
  private failures = 0;
  /** 'connected' was emitted for the current connection (so 'disconnected' is owed). */
  private announced = false;
  private readonly listeners: Record<AmqpLinkEvent, Set<() => void>> = {
    connected: new Set(),
    disconnected: new Set(),
  };
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly connectTimeout: number;
  /** Increments on every successful connect; lets users tell one connection from the next. */
  generation = 0;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    opts: AmqpLinkOptions = {},
  ) {
    this.minDelay = opts.minDelayMs ?? 250;
    this.maxDelay = opts.maxDelayMs ?? 5_000;
    this.connectTimeout = opts.connectTimeoutMs ?? 10_000;
    this.delay = this.minDelay;
  }

  /** URL without the password, for logs. */
  get where(): string {
    try {
      const u = new URL(this.url);
      if (u.password) u.password = '***';
      return u.toString();
    } catch {
      return '(invalid AMQP URL)';
    }
  }

  /** Start connecting (in the background; returns at once). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.delay = this.minDelay;
    this.failures = 0;
    this.attempt();
  }

  /** Close the connection and stop reconnecting. Never throws. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // A connect in progress notices `running` is false and closes what it opened.
    if (this.connecting) await this.connecting;
    const conn = this.conn;
    if (conn) {
      this.dropConnection(conn);
      await conn.close().catch(() => {});
    }
  }

  /** Connected, with the exchange declared and the confirm channel open. */
  isConnected(): boolean {
    return this.conn !== null && this.announced;
  }

  /** The current connection, or null while disconnected. */
  connection(): ChannelModel | null {
    return this.conn;
  }

  /**
   * Subscribe to 'connected' (after every successful (re)connect, exchange declared) or
   * 'disconnected' (connection lost or stop()). Returns an unsubscribe function. Listeners
   * that throw are logged, not propagated.
   */
  on(event: AmqpLinkEvent, fn: () => void): () => void {
    this.listeners[event].add(fn);
    return () => this.listeners[event].delete(fn);
  }

  /** The shared confirm channel if it is open right now (no waiting). */
  currentConfirmChannel(): ConfirmChannel | null {
    return this.confirm;
  }

  /**
   * The shared publisher-confirm channel, reopened if a channel error closed it. Rejects while
   * disconnected. The exchange `pybit` is declared on it before it is handed out.
   */
  async confirmChannel(): Promise<ConfirmChannel> {
    if (this.confirm) return this.confirm;
    const conn = this.conn;
    if (!conn) throw new Error('AMQP not connected');
    if (!this.confirmOpening) {
      const opening = this.openConfirmChannel(conn);
      this.confirmOpening = opening;
      const clear = () => {
        if (this.confirmOpening === opening) this.confirmOpening = null;
      };
      opening.then(clear, clear);
    }
    return this.confirmOpening;
  }

  /**
   * A fresh plain channel for one-off work (probes, declares that may fail). Its errors are
   * logged at debug level; a channel error only closes that channel, never the connection.
   * The caller closes it (close() may reject if the server already closed it).
   */
  async channel(): Promise<Channel> {
    const conn = this.conn;
    if (!conn) throw new Error('AMQP not connected');
    const ch = await conn.createChannel();
    // Without an 'error' listener amqplib's EventEmitter would throw from inside the frame
    // parser and take the whole connection down.
    ch.on('error', (err: Error) => this.log.debug(`AMQP channel closed: ${err.message}`));
    return ch;
  }

  private attempt(): void {
    if (!this.running || this.conn || this.connecting) return;
    const p = this.connectOnce().finally(() => {
      if (this.connecting === p) this.connecting = null;
    });
    this.connecting = p;
  }

  /** One connection attempt. Never rejects. */
  private async connectOnce(): Promise<void> {
    let conn: ChannelModel | null = null;
    try {
      conn = await amqp.connect(this.url, socketOptions(this.connectTimeout));
      const c = conn;
      // 'error' comes before 'close' for fatal errors; 'close' is what drives reconnection.
      c.on('error', (err: Error) => this.log.warn(`AMQP connection error: ${err.message}`));
      c.on('close', () => this.onClose(c));
      c.on('blocked', (reason: string) => this.log.warn(`AMQP connection blocked by the broker: ${reason}`));
      c.on('unblocked', () => this.log.info('AMQP connection unblocked'));
      if (!this.running) {
        await c.close().catch(() => {});
        return;
      }
      // Declaring the exchange on the confirm channel both makes sure it exists after a broker
      // reset and gets the publisher's channel ready before anyone asks for it.
      this.conn = c;
      await this.confirmChannel();
      if (!this.running) {
        this.dropConnection(c);
        await c.close().catch(() => {});
        return;
      }
      if (this.conn !== c) throw new Error('connection closed while opening');
      this.generation++;
      this.log.info(
        this.failures > 0
          ? `AMQP connected to ${this.where} after ${this.failures} failed attempt(s)`
          : `AMQP connected to ${this.where}`,
      );
      this.failures = 0;
      this.delay = this.minDelay;
      this.announced = true;
      this.emit('connected');
    } catch (err) {
      if (conn) {
        this.dropConnection(conn);
        await conn.close().catch(() => {});
      }
      this.failures++;
      const msg = `AMQP connect to ${this.where} failed: ${(err as Error).message}; retrying in ${this.delay} ms`;
      // Retrying forever: say it loudly once, then quietly, so an absent broker does not flood the log.
      if (this.failures === 1) this.log.warn(msg);
      else this.log.debug(msg);
      this.scheduleReconnect();
    }
  }

  private async openConfirmChannel(conn: ChannelModel): Promise<ConfirmChannel> {
    const ch = await conn.createConfirmChannel();
    ch.on('error', (err: Error) => this.log.warn(`AMQP confirm channel closed: ${err.message}`));
    ch.on('close', () => {
      if (this.confirm === ch) this.confirm = null;
    });
    await assertPybitExchange(ch);
    if (this.conn !== conn) {
      await ch.close().catch(() => {});
      throw new Error('AMQP connection closed while opening channel');
    }
    this.confirm = ch;
    return ch;
  }

  private onClose(conn: ChannelModel): void {
    if (this.conn !== conn) return;
    this.dropConnection(conn);
    if (this.running) {
      this.log.warn(`AMQP connection to ${this.where} lost; reconnecting`);
      this.scheduleReconnect();
    }
  }

  private dropConnection(conn: ChannelModel): void {
    if (this.conn !== conn) return;
    this.conn = null;
    this.confirm = null;
    this.confirmOpening = null;
    if (this.announced) {
      this.announced = false;
      this.emit('disconnected');
    }
  }

  private scheduleReconnect(): void {
    if (!this.running || this.timer) return;
    // A little jitter so many workers/controllers do not hammer a restarting broker in step.
    const wait = Math.round(this.delay * (0.85 + Math.random() * 0.3));
    this.delay = Math.min(this.delay * 2, this.maxDelay);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.attempt();
    }, wait);
    // The link alone should not keep a process alive that is otherwise done.
    this.timer.unref();
  }

  private emit(event: AmqpLinkEvent): void {
    for (const fn of [...this.listeners[event]]) {
      try {
        fn();
      } catch (err) {
        this.log.error(`AMQP ${event} listener failed: ${(err as Error).message}`);
      }
    }
  }
}
