// The embedded in-process queue: when `box` finds no broker, the controller's outgoing messages
// are routed here instead of to RabbitMQ, and delivered to local workers over their IPC channel
// with RabbitMQ's semantics as far as the worker can tell: direct routing on exchange `pybit`,
// per-consumer credit (prefetch), ack/nack, redelivery of unacked messages when a worker dies,
// and an exclusive command queue per worker. Messages live in memory only; the controller's
// sweeper republishes jobs that were never claimed, so a box restart loses nothing for good.
import type { ChildProcess } from 'node:child_process';
import { isWorkerToQueue, type QueueToWorker, type WorkerToQueue } from './ipc-protocol';

interface Message {
  body: string;
  redelivered: boolean;
}

interface Consumer {
  child: ChildProcess;
  clientName: string | null;
  queues: string[];
  credit: number;
  unacked: Map<number, { queue: string; msg: Message }>;
  /** Round-robin position over `queues`. */
  next: number;
}

export interface EmbeddedQueueStats {
  queued: number;
  unacked: number;
  consumers: number;
}

export class EmbeddedQueue {
  /** Queue name → messages. */
  private readonly queues = new Map<string, Message[]>();
  /** Routing key → queue names bound to it on exchange `pybit`. */
  private readonly bindings = new Map<string, Set<string>>();
  private readonly consumers = new Set<Consumer>();
  private tag = 0;

  constructor(private readonly log: (line: string) => void = () => {}) {}

  /** Declare a queue and bind it (as the controller does before every build publish). */
  declare(queue: string, routingKey: string): void {
    if (!this.queues.has(queue)) this.queues.set(queue, []);
    let b = this.bindings.get(routingKey);
    if (!b) this.bindings.set(routingKey, (b = new Set()));
    b.add(queue);
  }

  /** Route a message; returns false when it was unroutable (dropped, as mandatory returns are logged). */
  publish(routingKey: string, body: string): boolean {
    const worker = [...this.consumers].find((c) => c.clientName === routingKey);
    if (worker) {
      this.send(worker, { bb: 'command', body });
      return true;
    }
    const bound = this.bindings.get(routingKey);
    if (!bound?.size) return false;
    for (const q of bound) this.queues.get(q)!.push({ body, redelivered: false });
    this.dispatch();
    return true;
  }

  /** Serve a worker child started with `--amqp ipc:`. */
  attach(child: ChildProcess): void {
    const c: Consumer = { child, clientName: null, queues: [], credit: 0, unacked: new Map(), next: 0 };
    this.consumers.add(c);
    const onMessage = (m: unknown) => {
      if (isWorkerToQueue(m)) this.onMessage(c, m);
    };
    child.on('message', onMessage);
    const gone = () => {
      if (!this.consumers.delete(c)) return;
      child.off('message', onMessage);
      // Unacked messages go back to the front of their queues, marked redelivered.
      const back = [...c.unacked.values()].reverse();
      for (const { queue, msg } of back) this.queues.get(queue)?.unshift({ body: msg.body, redelivered: true });
      if (back.length) this.log(`embedded queue: ${back.length} unacked message(s) of ${c.clientName ?? 'a worker'} requeued`);
      c.unacked.clear();
      this.dispatch();
    };
    child.on('exit', gone);
    child.on('disconnect', gone);
  }

  stats(): EmbeddedQueueStats {
    let queued = 0;
    for (const q of this.queues.values()) queued += q.length;
    let unacked = 0;
    for (const c of this.consumers) unacked += c.unacked.size;
    return { queued, unacked, consumers: this.consumers.size };
  }

  private send(c: Consumer, m: QueueToWorker): void {
    if (c.child.connected) c.child.send(m);
  }

  private onMessage(c: Consumer, m: WorkerToQueue): void {
    switch (m.bb) {
      case 'consume': {
        const holder = [...this.consumers].find((o) => o !== c && o.clientName === m.clientName);
        if (holder) {
          this.send(c, { bb: 'held', queue: m.clientName });
          return;
        }
        c.clientName = m.clientName;
        c.queues = m.queues.map((q) => q.name);
        for (const q of m.queues) this.declare(q.name, q.routingKey);
        this.send(c, { bb: 'ready' });
        return;
      }
      case 'credit':
        c.credit = m.n;
        this.dispatch();
        this.send(c, { bb: 'credit-ok', seq: m.seq });
        return;
      case 'ack':
        c.unacked.delete(m.tag);
        this.dispatch();
        return;
      case 'nack': {
        const u = c.unacked.get(m.tag);
        c.unacked.delete(m.tag);
        if (u && m.requeue) this.queues.get(u.queue)?.unshift({ body: u.msg.body, redelivered: true });
        this.dispatch();
        return;
      }
      case 'publish':
        if (!this.publish(m.routingKey, m.body)) this.log(`embedded queue: unroutable message to ${m.routingKey} dropped`);
        return;
    }
  }

  private dispatch(): void {
    for (const c of this.consumers) {
      while (c.clientName && c.credit > c.unacked.size && c.queues.length) {
        let sent = false;
        for (let i = 0; i < c.queues.length && !sent; i++) {
          const name = c.queues[(c.next + i) % c.queues.length];
          const msg = this.queues.get(name)?.shift();
          if (!msg) continue;
          c.next = (c.next + i + 1) % c.queues.length;
          const tag = ++this.tag;
          c.unacked.set(tag, { queue: name, msg });
          this.send(c, { bb: 'deliver', tag, body: msg.body, redelivered: msg.redelivered });
          sent = true;
        }
        if (!sent) break;
      }
    }
  }
}
