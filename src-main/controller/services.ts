// Background services of the controller that run beside the HTTP server (lease sweeper,
// retry scheduler, …). Started after the server listens; stopped before the database closes.
import type { Ctx } from './context';
import type { OutboxPublisher } from './dispatch/outbox-publisher';

export interface ServiceDeps {
  ctx: Ctx;
  publisher: OutboxPublisher | null;
}

export interface Services {
  stop(): Promise<void>;
}

export function startServices(deps: ServiceDeps): Services {
  void deps;
  return { async stop() {} };
}
