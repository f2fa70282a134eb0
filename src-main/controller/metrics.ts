// Prometheus metrics for one controller, in a Registry of its own (several controllers may run
// in one process, e.g. the tests). Gauges are read from the database at scrape time, so they
// describe the whole farm whichever controller is scraped; counters count what this controller
// process did since it started.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Ctx } from './context';
import { loadStats } from './http/api/read-stats';

export interface ControllerMetrics {
  registry: Registry;
  contentType: string;
  /** Refreshes the gauges from the database and renders the text exposition format. */
  render(): Promise<string>;
  /** Stops listening to the event bus. */
  close(): void;
}

export function createMetrics(ctx: Ctx): ControllerMetrics {
  const registry = new Registry();
  const jobs = new Gauge({ name: 'buildbox_jobs', help: 'Jobs by latest status.', labelNames: ['status'] as const, registers: [registry] });
  const depth = new Gauge({
    name: 'buildbox_queue_depth',
    help: 'Waiting jobs per build queue (<dist>_<arch>_<suite>_<format>), from the database.',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const oldest = new Gauge({
    name: 'buildbox_oldest_waiting_seconds',
    help: 'How long the longest-waiting Waiting job has waited (0 when none waits).',
    registers: [registry],
  });
  const submissions = new Counter({
    name: 'buildbox_submissions_total',
    help: 'Jobs created by submissions to this controller since it started.',
    registers: [registry],
  });
  const publishFailures = new Counter({
    name: 'buildbox_publish_failures_total',
    help: 'Messages the broker nacked, returned as unroutable, refused at declare, or lost with a channel while unconfirmed.',
    registers: [registry],
  });
  const published = new Counter({
    name: 'buildbox_published_total',
    help: 'Messages the broker confirmed.',
    registers: [registry],
  });
  const pending = new Gauge({
    name: 'buildbox_outbox_pending',
    help: 'Messages written but not yet confirmed by the broker.',
    registers: [registry],
  });

  const unsubscribe = ctx.events.on((e) => {
    if (e.type === 'job.created') submissions.inc();
  });

  // Publisher counters are absolute; the Counters advance by the difference since the last scrape.
  const seen = { publishFailures: 0, published: 0 };
  const queuesSeen = new Set<string>();

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      const stats = await loadStats(ctx.db.kysely);
      for (const [status, n] of Object.entries(stats.counts)) jobs.set({ status }, n);
      // A queue that drained stays in the output at 0 rather than vanishing.
      for (const q of queuesSeen) depth.set({ queue: q }, 0);
      for (const q of stats.queues) {
        queuesSeen.add(q.queue);
        depth.set({ queue: q.queue }, q.depth);
      }
      oldest.set(stats.oldestWaitingSeconds ?? 0);
      const pendingRow = await ctx.db.kysely
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('sent_at', 'is', null)
        .where('dead_at', 'is', null)
        .executeTakeFirst();
      pending.set(Number(pendingRow?.n ?? 0));
      const ps = ctx.outboxStats?.();
      if (ps) {
        if (ps.publishFailures > seen.publishFailures) publishFailures.inc(ps.publishFailures - seen.publishFailures);
        if (ps.published > seen.published) published.inc(ps.published - seen.published);
        seen.publishFailures = ps.publishFailures;
        seen.published = ps.published;
      }
      return registry.metrics();
    },
    close: unsubscribe,
  };
}
