// Background services of the controller that run beside the HTTP server: the lease sweeper
// (requeues builds whose worker stopped renewing its lease), the retry scheduler (dispatches
// Blocked jobs again when their DEPFAIL back-off has passed) and the lost request check
// (publishes again what the broker lost). Started after the server listens;
// stopped before the database closes.
import type { Ctx } from './context';
import type { OutboxPublisher } from './dispatch/outbox-publisher';
import type { AmqpLink } from './dispatch/amqp-link';
import { DEFAULT_LOST_REQUEST_CHECK_MS, republishLostRequests, type RepublishMemory } from './dispatch/lost-request-sweeper';
import { sweepExpiredLeases } from './domain/lease-sweeper';
import { retryDueJobs } from './domain/retry-scheduler';
import { BuilddManager } from './lp/scanner';
import { startPublishing } from './publish/index';

export interface ServiceDeps {
  ctx: Ctx;
  publisher: OutboxPublisher | null;
  link?: AmqpLink | null;
}

export interface Services {
  stop(): Promise<void>;
}

export const DEFAULT_SWEEP_INTERVAL_MS = 2000;

/**
 * Runs `task` every interval, one run at a time. The interval is read from the config on every
 * wake-up, so a changed setting applies at once (a longer one postpones a run already due).
 */
function periodic(ctx: Ctx, name: string, task: () => Promise<unknown>, every?: () => number): Services {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  let lastRun = Date.now();
  const interval = every ?? (() => ctx.config.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(wake, Math.max(0, ms));
    timer.unref?.();
  };
  const wake = () => {
    const due = lastRun + interval() - Date.now();
    if (due > 0) return schedule(due);
    lastRun = Date.now();
    running = task()
      .then(() => undefined)
      .catch((e) => ctx.log.warn(`${name}: ${(e as Error).message}`))
      .finally(() => {
        running = null;
        schedule(interval());
      });
  };
  schedule(interval());
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

export function startServices(deps: ServiceDeps): Services {
  const { ctx } = deps;
  const parts = [periodic(ctx, 'lease sweeper', () => sweepExpiredLeases(ctx)), periodic(ctx, 'retry scheduler', () => retryDueJobs(ctx))];
  const link = deps.link;
  if (link && ctx.config.lostRequestCheckMs !== 0) {
    const memory: RepublishMemory = new Map();
    parts.push(
      periodic(
        ctx,
        'lost request check',
        () => republishLostRequests(ctx, link, ctx.config.lostRequestGraceMs, memory),
        () => ctx.config.lostRequestCheckMs ?? DEFAULT_LOST_REQUEST_CHECK_MS,
      ),
    );
  }
  // The buildd-manager for launchpad-buildd style builders (a scan interval of 0 turns it off).
  if (ctx.config.scanIntervalMs !== 0) {
    const builders = new BuilddManager(ctx, { intervalMs: ctx.config.scanIntervalMs, cancelTimeoutMs: ctx.config.builderCancelTimeoutMs });
    builders.start();
    parts.push(builders);
  }
  if (ctx.config.publish) parts.push(startPublishing(ctx, ctx.config.publish));
  return {
    async stop() {
      await Promise.all(parts.map((p) => p.stop()));
    },
  };
}
