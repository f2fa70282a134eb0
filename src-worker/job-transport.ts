// What the worker needs from a message queue, whichever carries it: RabbitMQ (amqp-consumer.ts)
// or the embedded in-process queue of a `box` parent (ipc-consumer.ts).

export interface Delivery {
  body: Buffer;
  /** The broker delivered this message before (to us or to a worker that died). */
  redelivered: boolean;
  /** Acks on the channel it came from; a no-op once that channel is gone (the broker requeued it). */
  ack(): void;
  nack(requeue: boolean): void;
  /** False once the channel it came from is closed: ack/nack would be meaningless. */
  live(): boolean;
}

export interface TransportHandlers {
  /** A message from one of the build queues. */
  build(d: Delivery): void;
  /** A message on the worker's own command queue (CancelRequest, TaskComplete, ...). */
  command(body: Buffer): void;
  connected?(): void;
  disconnected?(reason: string): void;
}

export interface JobTransport {
  /** Connects, declares the queues and starts consuming. Rejects with QueueHeldError if another worker holds our command queue. */
  start(handlers: TransportHandlers): Promise<void>;
  /**
   * How many more build messages may be outstanding (delivered, not acked). 0 stops
   * consuming; the returned promise settles once the broker has stopped (or changed) sending.
   */
  setCredit(n: number): Promise<void>;
  /** Best effort: resolves false when the message could not be sent (e.g. disconnected). */
  publish(routingKey: string, body: string, opts: { persistent: boolean; mandatory?: boolean }): Promise<boolean>;
  stop(): Promise<void>;
}

export class QueueHeldError extends Error {
  constructor(readonly queue: string) {
    super(`the command queue ${queue} is already held by another worker: give this worker a different --client-id`);
    this.name = 'QueueHeldError';
  }
}
