// Messages between a `box` parent's embedded queue and its local worker child, over the Node
// IPC channel. The channel is ordered, which gives the same guarantees AMQP's channel gives:
// a `credit-ok` arrives after every delivery sent under the old credit.

export interface IpcQueueBinding {
  name: string;
  routingKey: string;
}

export type WorkerToQueue =
  | { bb: 'consume'; clientName: string; queues: IpcQueueBinding[] }
  | { bb: 'credit'; n: number; seq: number }
  | { bb: 'ack'; tag: number }
  | { bb: 'nack'; tag: number; requeue: boolean }
  | { bb: 'publish'; routingKey: string; body: string };

export type QueueToWorker =
  | { bb: 'ready' }
  | { bb: 'held'; queue: string }
  | { bb: 'credit-ok'; seq: number }
  | { bb: 'deliver'; tag: number; body: string; redelivered: boolean }
  | { bb: 'command'; body: string };

export function isQueueToWorker(m: unknown): m is QueueToWorker {
  return !!m && typeof m === 'object' && typeof (m as { bb?: unknown }).bb === 'string';
}

export function isWorkerToQueue(m: unknown): m is WorkerToQueue {
  return !!m && typeof m === 'object' && typeof (m as { bb?: unknown }).bb === 'string';
}
