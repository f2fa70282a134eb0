// Everything a route or background task of the controller needs, passed explicitly.
import type { Db } from './db/connect';
import type { EventBus } from './events';
import type { Logger } from './logger';
import type { OutboxStats } from './dispatch/outbox-publisher';

export interface ControllerConfig {
  /** `<host>:<port>` put into every message's web_host, as pyBit does. */
  webHost: string;
  /** Base URL of this controller (for file and log links). */
  baseUrl: string;
  amqpUrl: string | null;
  dataDir: string;
  /** Seconds a worker's claim lasts without a heartbeat. */
  leaseSeconds: number;
  /** DEPFAIL back-off: first delay before a Blocked job is retried (doubles per attempt; default 60). */
  retryBaseSeconds?: number;
  /** DEPFAIL back-off cap (default 3600). */
  retryMaxSeconds?: number;
  /** How often the lease sweeper and the retry scheduler look for due jobs (default 2000 ms). */
  sweepIntervalMs?: number;
  /** How often build queues are checked for BuildRequests the broker lost (default 30 s; 0 = never). */
  lostRequestCheckMs?: number;
  /** How long a job must have been Waiting before its message can count as lost (default 60 s). */
  lostRequestGraceMs?: number;
  /** launchpad-buildd style builders: time between scans of one builder (default 5000 ms; 0 = no scanning). */
  scanIntervalMs?: number;
  /** How long a cancelled build on such a builder may take to abort (default 180 s). */
  builderCancelTimeoutMs?: number;
  /** Publish Done jobs into apt repositories under <dataDir>/repo (null/absent = off). */
  publish?: { signKey?: string; gnupgHome?: string; retryBaseMs?: number } | null;
}

export interface Ctx {
  db: Db;
  config: ControllerConfig;
  events: EventBus;
  log: Logger;
  /** Status name → id; reloaded when the status table changes. */
  statuses: StatusCache;
  /** Liveness of a client's exclusive command queue (pyBit's `/buildd/<name>/status`). */
  isQueueHeld(queue: string): Promise<boolean>;
  /** The outbox publisher's counters, when there is a broker (for /metrics). */
  outboxStats?: () => OutboxStats;
}

export interface StatusCache {
  id(name: string): Promise<number | undefined>;
  invalidate(): void;
}
