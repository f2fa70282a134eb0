// In-process event bus: the HTTP layer's SSE stream, metrics and the outbox publisher listen here.
import { EventEmitter } from 'node:events';

export type ControllerEvent =
  | { type: 'job.created'; jobId: number; status: string }
  | { type: 'job.status'; jobId: number; status: string; previous: string | null; client: string | null }
  | { type: 'job.deleted'; jobId: number }
  | { type: 'job.log'; jobId: number; offset: number; length: number }
  | { type: 'worker.seen'; name: string; at: string }
  | { type: 'outbox.pending' };

export class EventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  emit(e: ControllerEvent): void {
    this.emitter.emit('event', e);
  }
  on(fn: (e: ControllerEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
