// The worker's RabbitMQ side (spec/pybit.md §4): declares exchange `pybit`, one durable build
// queue per suite bound with `<dist>.<arch>.<suite>.<format>`, and the exclusive auto-delete
// command queue `build_client_<id>`. Unlike pyBit it consumes by push (basic.consume): a job is
// picked up the moment it is published, not at the next 60 s poll. How many build messages may
// be outstanding follows the worker's free slots (basic.qos, global to the channel); with no
// free slot the build consumers are cancelled, so nothing waits unacked in a busy worker.
// A lost connection is re-established with capped exponential back-off.
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { PYBIT_EXCHANGE, buildQueueName, buildRoutingKey } from '@shared/pybit-models';
import { QueueHeldError, type Delivery, type JobTransport, type TransportHandlers } from './job-transport';

const RESOURCE_LOCKED = 405;

export interface AmqpConsumerOptions {
  url: string;
  dist: string;
  arch: string;
  format: string;
  suites: string[];
  clientName: string;
  log: (line: string) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

interface Session {
  conn: ChannelModel;
  build: Channel;
  command: Channel;
  consumerTags: string[];
  closed: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class AmqpConsumer implements JobTransport {
  private session: Session | null = null;
  private handlers: TransportHandlers | null = null;
  private running = false;
  private credit = 0;
  private creditChain: Promise<void> = Promise.resolve();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private delay: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;

  constructor(private readonly opts: AmqpConsumerOptions) {
    this.minDelay = opts.minDelayMs ?? 250;
    this.maxDelay = opts.maxDelayMs ?? 5000;
    this.delay = this.minDelay;
  }

  get where(): string {
    try {
      const u = new URL(this.opts.url);
      if (u.password) u.password = '***';
      return u.toString();
    } catch {
      return '(invalid AMQP URL)';
    }
  }

  /**
   * The first connection is made here, so that a held command queue stops the worker at once
   * with a clear error. A broker that is down is retried in the background instead.
   */
  async start(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    this.running = true;
    try {
      await this.connect();
    } catch (err) {
      if (err instanceof QueueHeldError) {
        this.running = false;
        throw err;
      }
      this.opts.log(`AMQP: cannot connect to ${this.where}: ${(err as Error).message}; retrying`);
      this.scheduleReconnect();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const s = this.session;
    this.session = null;
    if (s) {
      s.closed = true;
      await s.conn.close().catch(() => {});
    }
  }

  setCredit(n: number): Promise<void> {
    this.credit = Math.max(0, n);
    // Serialised: qos and cancel/consume must reach the broker in the order they were asked for.
    const p = this.creditChain.then(() => this.applyCredit()).catch((err) => this.opts.log(`AMQP: changing the prefetch failed: ${(err as Error).message}`));
    this.creditChain = p;
    return p;
  }

  async publish(routingKey: string, body: string, opts: { persistent: boolean; mandatory?: boolean }): Promise<boolean> {
    const s = this.session;
    if (!s || s.closed) return false;
    try {
      return s.command.publish(PYBIT_EXCHANGE, routingKey, Buffer.from(body), { persistent: opts.persistent, mandatory: opts.mandatory ?? false });
    } catch {
      return false;
    }
  }

  private async applyCredit(): Promise<void> {
    const s = this.session;
    if (!s || s.closed) return;
    const n = this.credit;
    if (n === 0) {
      const tags = s.consumerTags.splice(0);
      for (const t of tags) await s.build.cancel(t);
      return;
    }
    await s.build.prefetch(n, true);
    if (s.consumerTags.length === 0) {
      for (const suite of this.opts.suites) {
        const q = buildQueueName(this.opts.dist, this.opts.arch, suite, this.opts.format);
        const ok = await s.build.consume(q, (m) => this.onBuild(s, m), { noAck: false });
        s.consumerTags.push(ok.consumerTag);
      }
    }
  }

  private onBuild(s: Session, m: ConsumeMessage | null): void {
    if (!m) return; // consumer cancelled by the broker (queue deleted): the reconnect redeclares it
    let settled = false;
    const live = () => !s.closed && this.session === s;
    const d: Delivery = {
      body: m.content,
      redelivered: m.fields.redelivered,
      live,
      ack: () => {
        if (settled || !live()) return;
        settled = true;
        s.build.ack(m);
      },
      nack: (requeue) => {
        if (settled || !live()) return;
        settled = true;
        s.build.nack(m, false, requeue);
      },
    };
    this.handlers?.build(d);
  }

  private async connect(): Promise<void> {
    // connection_name shows in the broker's management tools which worker a connection is.
    const conn = await amqp.connect(this.opts.url, { noDelay: true, timeout: 10_000, clientProperties: { connection_name: `buildbox-worker ${this.opts.clientName}` } });
    const session: Session = { conn, build: null as unknown as Channel, command: null as unknown as Channel, consumerTags: [], closed: false };
    conn.on('error', (err: Error) => this.opts.log(`AMQP connection error: ${err.message}`));
    conn.on('close', () => this.onClose(session));
    try {
      // The command queue first: if another worker holds it we must not consume its builds.
      const command = await conn.createChannel();
      let heldError: unknown = null;
      command.on('error', (err: Error & { code?: number }) => {
        if (err.code === RESOURCE_LOCKED) heldError = err;
      });
      session.command = command;
      await command.assertExchange(PYBIT_EXCHANGE, 'direct', { durable: true, autoDelete: false });
      try {
        await command.assertQueue(this.opts.clientName, { durable: false, exclusive: true, autoDelete: true });
      } catch (err) {
        if ((err as { code?: number }).code === RESOURCE_LOCKED || heldError) throw new QueueHeldError(this.opts.clientName);
        throw err;
      }
      await command.bindQueue(this.opts.clientName, PYBIT_EXCHANGE, this.opts.clientName);
      await command.consume(this.opts.clientName, (m) => m && this.handlers?.command(m.content), { noAck: true });

      const build = await conn.createChannel();
      build.on('error', (err: Error) => this.opts.log(`AMQP build channel error: ${err.message}`));
      // A channel that dies alone would leave us deaf: treat it like a lost connection.
      build.on('close', () => {
        if (!session.closed) void conn.close().catch(() => {});
      });
      command.on('close', () => {
        if (!session.closed) void conn.close().catch(() => {});
      });
      session.build = build;
      for (const suite of this.opts.suites) {
        const q = buildQueueName(this.opts.dist, this.opts.arch, suite, this.opts.format);
        await build.assertQueue(q, { durable: true, exclusive: false, autoDelete: false });
        await build.bindQueue(q, PYBIT_EXCHANGE, buildRoutingKey(this.opts.dist, this.opts.arch, suite, this.opts.format));
      }
    } catch (err) {
      session.closed = true;
      await conn.close().catch(() => {});
      throw err;
    }
    if (!this.running) {
      session.closed = true;
      await conn.close().catch(() => {});
      return;
    }
    this.session = session;
    this.delay = this.minDelay;
    this.opts.log(`AMQP: connected to ${this.where}, consuming ${this.opts.suites.map((s) => buildQueueName(this.opts.dist, this.opts.arch, s, this.opts.format)).join(', ')}; command queue ${this.opts.clientName}`);
    this.handlers?.connected?.();
    await this.setCredit(this.credit);
  }

  private onClose(s: Session): void {
    const wasCurrent = this.session === s;
    s.closed = true;
    if (!wasCurrent) return;
    this.session = null;
    this.handlers?.disconnected?.('connection closed');
    if (this.running) {
      this.opts.log(`AMQP: connection to ${this.where} lost; reconnecting`);
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    const wait = Math.round(this.delay * (0.85 + Math.random() * 0.3));
    this.delay = Math.min(this.delay * 2, this.maxDelay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect().catch(async (err) => {
        const held = err instanceof QueueHeldError;
        this.opts.log(`AMQP: reconnect to ${this.where} failed: ${(err as Error).message}`);
        if (held) await sleep(0);
        this.scheduleReconnect();
      });
    }, wait);
  }
}
