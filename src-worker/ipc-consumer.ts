// The worker's queue transport when its parent `box` runs the embedded in-process queue (no
// broker reachable): the same consume/credit/ack/publish model as amqp-consumer.ts, over the
// Node IPC channel to the parent (`--amqp ipc:`).
import { buildQueueName, buildRoutingKey } from '@shared/pybit-models';
import { isQueueToWorker, type QueueToWorker, type WorkerToQueue } from './ipc-protocol';
import { QueueHeldError, type Delivery, type JobTransport, type TransportHandlers } from './job-transport';

export interface IpcConsumerOptions {
  clientName: string;
  queues: Array<{ dist: string; arch: string; suite: string; format: string }>;
  log: (line: string) => void;
}

export class IpcConsumer implements JobTransport {
  private handlers: TransportHandlers | null = null;
  private seq = 0;
  private readonly waiting = new Map<number, () => void>();
  private connected = false;
  private readonly listener = (m: unknown) => this.onMessage(m);
  private startWaiter: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly opts: IpcConsumerOptions) {}

  private send(m: WorkerToQueue): boolean {
    if (!process.send || !process.connected) return false;
    process.send(m);
    return true;
  }

  start(handlers: TransportHandlers): Promise<void> {
    if (!process.send) return Promise.reject(new Error('--amqp ipc: needs a parent process (buildbox box) with an IPC channel'));
    this.handlers = handlers;
    process.on('message', this.listener);
    return new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
      this.send({
        bb: 'consume',
        clientName: this.opts.clientName,
        queues: this.opts.queues.map((q) => ({ name: buildQueueName(q.dist, q.arch, q.suite, q.format), routingKey: buildRoutingKey(q.dist, q.arch, q.suite, q.format) })),
      });
    });
  }

  setCredit(n: number): Promise<void> {
    if (!this.connected) return Promise.resolve();
    const seq = ++this.seq;
    return new Promise<void>((resolve) => {
      this.waiting.set(seq, resolve);
      if (!this.send({ bb: 'credit', n: Math.max(0, n), seq })) {
        this.waiting.delete(seq);
        resolve();
      }
    });
  }

  async publish(routingKey: string, body: string): Promise<boolean> {
    return this.send({ bb: 'publish', routingKey, body });
  }

  async stop(): Promise<void> {
    this.connected = false;
    process.off('message', this.listener);
    for (const r of this.waiting.values()) r();
    this.waiting.clear();
    if (process.connected) process.disconnect?.();
  }

  private onMessage(raw: unknown): void {
    if (!isQueueToWorker(raw)) return;
    const m: QueueToWorker = raw;
    switch (m.bb) {
      case 'ready':
        this.connected = true;
        this.opts.log(`embedded queue: consuming ${this.opts.queues.map((q) => buildQueueName(q.dist, q.arch, q.suite, q.format)).join(', ')}; command queue ${this.opts.clientName}`);
        this.startWaiter?.resolve();
        this.startWaiter = null;
        this.handlers?.connected?.();
        return;
      case 'held':
        this.startWaiter?.reject(new QueueHeldError(m.queue));
        this.startWaiter = null;
        return;
      case 'credit-ok': {
        const r = this.waiting.get(m.seq);
        this.waiting.delete(m.seq);
        r?.();
        return;
      }
      case 'command':
        this.handlers?.command(Buffer.from(m.body));
        return;
      case 'deliver': {
        let settled = false;
        const live = () => this.connected && process.connected === true;
        const d: Delivery = {
          body: Buffer.from(m.body),
          redelivered: m.redelivered,
          live,
          ack: () => {
            if (settled || !live()) return;
            settled = true;
            this.send({ bb: 'ack', tag: m.tag });
          },
          nack: (requeue) => {
            if (settled || !live()) return;
            settled = true;
            this.send({ bb: 'nack', tag: m.tag, requeue });
          },
        };
        this.handlers?.build(d);
        return;
      }
    }
  }
}
