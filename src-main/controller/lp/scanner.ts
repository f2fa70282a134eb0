// The buildd-manager: scans every registered launchpad-buildd style builder on its own schedule,
// following Launchpad's modern WorkerScanner cycle (spec launchpad-buildd.md §6.4):
//   builder with a job → status(); a wrong build_id means the builder lost it (reset the job);
//     cancellation → abort() and wait up to the cancel timeout; BUILDING/ABORTING → log tail;
//     WAITING → collect the results into the librarian and report the outcome;
//   no job, disabled → not contacted;
//   no job, CLEAN → must be IDLE; manual builders get nothing new; else dispatch;
//   no job, DIRTY → abort / wait / clean() until IDLE, then CLEAN.
// Failures are counted as Launchpad does (judge_failure, §6.3).
import type { Ctx } from '../context';
import { nowText } from '../db/time';
import { heartbeat } from '../domain/claim';
import {
  assignedJob,
  bumpJobFailures,
  finishOnBuilder,
  markAbortSent,
  resetJob,
  setLogtail,
  unassign,
  type AssignedJob,
} from './build-queue';
import { collectBuild } from './collect';
import { findAndStartJob } from './dispatch';
import { BuildDaemonError, BuildDaemonIsolationError, judgeFailure, SCAN_FAILURE_THRESHOLD } from './judge-failure';
import { getBuilder, listBuilders, type BuilderRow } from './registry';
import { BuilderClient, DEFAULT_RPC_TIMEOUT_MS, type BuilderStatus } from './rpc-client';

export interface BuilddManagerOptions {
  /** Time between the end of one scan of a builder and the start of the next (default 5 s). */
  intervalMs?: number;
  /** How long a cancelled build may take to abort (Launchpad's CANCEL_TIMEOUT, 180 s). */
  cancelTimeoutMs?: number;
  /** Per XML-RPC call (Launchpad's socket_timeout, 40 s). */
  rpcTimeoutMs?: number;
}

export const DEFAULT_SCAN_INTERVAL_MS = 5_000;
export const DEFAULT_CANCEL_TIMEOUT_MS = 180_000;

const IDLE = 'BuilderStatus.IDLE';
const BUILDING = 'BuilderStatus.BUILDING';
const ABORTING = 'BuilderStatus.ABORTING';
const WAITING = 'BuilderStatus.WAITING';

/** A failure that counts at once, without the tolerance for glitches (dispatch, cancel timeout). */
class NoRetry extends Error {
  constructor(override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
  }
}

function decodeLogtail(v: unknown): string {
  const bytes = v instanceof Uint8Array ? v : typeof v === 'string' ? Buffer.from(v) : new Uint8Array();
  // Launchpad decodes as UTF-8 with replacement and strips NULs before storing.
  return Buffer.from(bytes).toString('utf8').replace(/\u0000/g, '');
}

export class BuilddManager {
  readonly intervalMs: number;
  readonly cancelTimeoutMs: number;
  readonly rpcTimeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly stopping = new AbortController();
  private readonly inflight = new Map<number, Promise<void>>();
  private readonly lastScan = new Map<number, number>();
  /** Consecutive scan failures per builder (in memory, as Launchpad keeps them). */
  private readonly scanFailures = new Map<number, number>();

  constructor(
    private readonly ctx: Ctx,
    opts: BuilddManagerOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_SCAN_INTERVAL_MS;
    this.cancelTimeoutMs = opts.cancelTimeoutMs ?? DEFAULT_CANCEL_TIMEOUT_MS;
    this.rpcTimeoutMs = opts.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.startDueScans()
          .catch((e) => this.ctx.log.error(`builder scan scheduling failed: ${(e as Error).message}`))
          .finally(tick);
      }, Math.min(this.intervalMs, 1000));
      this.timer.unref?.();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopping.abort();
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** Starts a scan of every builder that is not being scanned and whose interval has passed. */
  private async startDueScans(): Promise<void> {
    const builders = await listBuilders(this.ctx);
    const now = Date.now();
    for (const b of builders) {
      if (this.stopped || this.inflight.has(b.id)) continue;
      if (now - (this.lastScan.get(b.id) ?? 0) < this.intervalMs) continue;
      const p = this.scanBuilder(b.id).finally(() => {
        this.inflight.delete(b.id);
        this.lastScan.set(b.id, Date.now());
      });
      this.inflight.set(b.id, p);
    }
  }

  /** One scan of one builder, with Launchpad's failure handling around it. */
  async scanBuilder(builderId: number): Promise<void> {
    const b = await this.ctx.db.kysely.selectFrom('builders').selectAll().where('id', '=', builderId).executeTakeFirst();
    if (!b) return;
    const client = new BuilderClient(b.url, { timeoutMs: this.rpcTimeoutMs, signal: this.stopping.signal });
    try {
      await this.scan(b, client);
      this.scanFailures.delete(b.id);
    } catch (e) {
      if (this.stopped) return;
      try {
        await this.scanFailed(b, e instanceof NoRetry ? e.cause : e, !(e instanceof NoRetry));
      } catch (e2) {
        this.ctx.log.error(`${b.name}: handling a scan failure failed: ${(e2 as Error).stack ?? e2}`);
      }
    }
  }

  private async noteStatus(b: BuilderRow, st: BuilderStatus): Promise<void> {
    const set: Record<string, unknown> = { last_status: st.builder_status, last_seen: nowText() };
    if (typeof st.builder_version === 'string') set.version = st.builder_version;
    await this.ctx.db.kysely.updateTable('builders').set(set).where('id', '=', b.id).execute();
  }

  private async setClean(b: BuilderRow, state: 'CLEAN' | 'DIRTY' | 'CLEANING'): Promise<void> {
    await this.ctx.db.kysely.updateTable('builders').set({ clean_status: state }).where('id', '=', b.id).execute();
  }

  private async scan(b: BuilderRow, client: BuilderClient): Promise<void> {
    const log = this.ctx.log;
    const bq = await assignedJob(this.ctx, b.id);
    if (bq) return this.scanWithJob(b, client, bq);
    if (!b.enabled) return; // disabled builders are not contacted
    if (b.clean_status === 'CLEAN') {
      const st = await client.status();
      await this.noteStatus(b, st);
      if (st.builder_status !== IDLE) throw new BuildDaemonIsolationError(`Allegedly clean worker not idle (${st.builder_status} instead)`);
      if (b.manual) {
        log.debug(`${b.name} is in manual mode, not dispatching.`);
        return;
      }
      try {
        await findAndStartJob(this.ctx, b, client);
      } catch (e) {
        // Dispatch failures count at once (no retry): they leave the job assigned for accounting.
        throw new NoRetry(e);
      }
      return;
    }
    // DIRTY or CLEANING: bring the builder back to IDLE (Launchpad's cleanWorker, non-virtual).
    const st = await client.status();
    await this.noteStatus(b, st);
    switch (st.builder_status) {
      case IDLE:
        await this.setClean(b, 'CLEAN');
        return;
      case BUILDING:
        await client.abort();
        return;
      case ABORTING:
        return;
      case WAITING:
        await client.clean();
        await this.setClean(b, 'CLEAN');
        return;
      default:
        throw new BuildDaemonError(`Invalid status during clean: ${st.builder_status}`);
    }
  }

  private async scanWithJob(b: BuilderRow, client: BuilderClient, bq: AssignedJob): Promise<void> {
    const ctx = this.ctx;
    const cookie = bq.cookie ?? '';
    if (!b.enabled) {
      ctx.log.info(`${b.name} is disabled. Resetting job ${cookie}.`);
      await resetJob(ctx, b, bq.job_id);
      return;
    }
    const st = await client.status();
    await this.noteStatus(b, st);
    if (st.build_id !== cookie) {
      if (st.builder_status === IDLE) {
        ctx.log.warn(`Builder ${b.url} forgot about buildqueue ${bq.job_id} -- resetting buildqueue record`);
      } else {
        ctx.log.warn(`${b.name} is lost (expected ${cookie}, got ${st.build_id ?? 'no build id'}). Resetting job ${cookie}.`);
      }
      await resetJob(ctx, b, bq.job_id);
      await this.setClean(b, 'DIRTY');
      return;
    }
    // Renews the lease, and says whether the job was cancelled or taken from us meanwhile.
    const hb = await heartbeat(ctx, bq.job_id, b.name);
    if (hb.stop && hb.reason === 'lease-lost') {
      ctx.log.warn(`${b.name}: job ${bq.job_id} is ${hb.status} and no longer leased to it; letting go of ${cookie}`);
      await unassign(ctx, bq.job_id);
      await this.setClean(b, 'DIRTY');
      return;
    }
    const cancelling = hb.stop && hb.reason === 'cancelled';
    if (cancelling && st.builder_status !== WAITING) {
      if (!bq.abort_sent_at) {
        ctx.log.info(`Cancelling job ${bq.job_id} (${cookie}) on ${b.name}`);
        await client.abort();
        await markAbortSent(ctx, bq.job_id);
        await setLogtail(ctx, bq.job_id, 'Waiting for worker process to be terminated');
        return;
      }
      const waited = Date.now() - new Date(bq.abort_sent_at.slice(0, 23).replace(' ', 'T') + 'Z').getTime();
      if (waited > this.cancelTimeoutMs) {
        throw new NoRetry(new BuildDaemonError(`Timeout waiting for job ${bq.job_id} (${cookie}) on ${b.name} to cancel`));
      }
      ctx.log.debug(`Waiting for job ${bq.job_id} (${cookie}) on ${b.name} to cancel`);
      return;
    }
    switch (st.builder_status) {
      case BUILDING:
        await setLogtail(ctx, bq.job_id, decodeLogtail(st.logtail));
        return;
      case ABORTING:
        await setLogtail(ctx, bq.job_id, 'Waiting for worker process to be terminated');
        return;
      case WAITING:
        return this.handleStatus(b, bq, st, cancelling);
      default:
        throw new BuildDaemonError(`Unknown status code (${st.builder_status}) returned from status() probe.`);
    }
  }

  /** A finished build: collect and report it (Launchpad's handleStatus, §6.6). */
  private async handleStatus(b: BuilderRow, bq: AssignedJob, st: BuilderStatus, cancelling: boolean): Promise<void> {
    const ctx = this.ctx;
    const result = String(st.build_status ?? '').replace(/^BuildStatus\./, '');
    const collect = (files: boolean) => collectBuild(ctx, b, bq.job_id, result, files ? st.filemap : undefined, this.rpcTimeoutMs * 20);
    if (cancelling) {
      await collect(false);
      await finishOnBuilder(ctx, b, bq.job_id, { status: 'Cancelled', result: 'ABORTED' });
      return;
    }
    switch (result) {
      case 'OK': {
        const got = await collect(true);
        ctx.log.info(`${b.name}: job ${bq.job_id} (${bq.cookie}) built; collected ${got.files.length} file(s)`);
        await finishOnBuilder(ctx, b, bq.job_id, { status: 'Done', result: 'OK' });
        return;
      }
      case 'PACKAGEFAIL':
        await collect(false);
        await finishOnBuilder(ctx, b, bq.job_id, { status: 'Failed', result: 'PACKAGEFAIL' });
        return;
      case 'DEPFAIL':
        await collect(false);
        await finishOnBuilder(ctx, b, bq.job_id, { status: 'Blocked', result: 'DEPFAIL', details: String(st.dependencies ?? '').slice(0, 10_000) });
        return;
      case 'CHROOTFAIL':
        await collect(false);
        await finishOnBuilder(ctx, b, bq.job_id, { status: 'Failed', result: 'CHROOTFAIL' });
        return;
      case 'ABORTED':
        throw new BuildDaemonError('Build returned ABORTED without being cancelled.');
      case 'GIVENBACK':
        throw new BuildDaemonError('Build returned GIVENBACK.');
      case 'BUILDERFAIL':
        throw new BuildDaemonError('Build returned BUILDERFAIL.');
      default:
        throw new BuildDaemonError(`Build returned an unknown status (${st.build_status}).`);
    }
  }

  /** Launchpad's _scanFailed + recover_failure. */
  private async scanFailed(b: BuilderRow, exc: unknown, retry: boolean): Promise<void> {
    const ctx = this.ctx;
    const msg = (exc as Error)?.message ?? String(exc);
    const n = (this.scanFailures.get(b.id) ?? 0) + 1;
    if (retry && !(exc instanceof BuildDaemonIsolationError) && n < SCAN_FAILURE_THRESHOLD) {
      this.scanFailures.set(b.id, n);
      ctx.log.info(`Scanning ${b.name} failed (${n} in a row): ${msg}`);
      return;
    }
    this.scanFailures.delete(b.id);
    ctx.log.warn(`Scanning ${b.name} failed: ${msg}`);
    const db = ctx.db.kysely;
    await db.updateTable('builders').set((eb) => ({ failure_count: eb('failure_count', '+', 1) })).where('id', '=', b.id).execute();
    const fresh = (await getBuilder(ctx, b.name)) ?? b;
    const builderCount = Number(fresh.failure_count);
    const bq = await assignedJob(ctx, b.id);
    const jobCount = bq ? await bumpJobFailures(ctx, bq.job_id) : 0;
    const cancelling = bq ? (await db.selectFrom('job').select('cancel_requested_at').where('id', '=', bq.job_id).executeTakeFirst())?.cancel_requested_at != null : false;
    const [builderAction, jobAction] = judgeFailure(builderCount, jobCount, exc, retry && !cancelling);

    if (bq && jobAction !== null) {
      if (cancelling) {
        await finishOnBuilder(ctx, fresh, bq.job_id, { status: 'Cancelled', result: 'ABORTED', details: msg.slice(0, 10_000) });
      } else if (jobAction) {
        ctx.log.info(`Requeueing job ${bq.job_id} (${bq.cookie}) after failures on ${b.name}`);
        await resetJob(ctx, fresh, bq.job_id);
      } else {
        ctx.log.warn(`Failing job ${bq.job_id} (${bq.cookie}): it failed ${jobCount} time(s), more often than ${b.name}`);
        await finishOnBuilder(ctx, fresh, bq.job_id, { status: 'Failed', result: 'BUILDERFAIL', details: msg.slice(0, 10_000) });
        await db.updateTable('builders').set({ failure_count: 0 }).where('id', '=', b.id).execute();
      }
    }
    if (builderAction === true) {
      await this.setClean(fresh, 'DIRTY');
    } else if (builderAction === false) {
      ctx.log.warn(`Disabling builder ${b.name} (${b.url}) after ${builderCount} failure(s): ${msg}`);
      await db.updateTable('builders').set({ enabled: 0, failure_notes: msg.slice(0, 10_000), updated_at: nowText() }).where('id', '=', b.id).execute();
      // A failed builder's job runs elsewhere.
      const still = await assignedJob(ctx, b.id);
      if (still) await resetJob(ctx, fresh, still.job_id);
    }
  }
}
