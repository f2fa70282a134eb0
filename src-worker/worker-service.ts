// The buildd: takes BuildRequests from the queue transport, decides with the controller whether
// to build each one, runs runBuildJob in a free slot and reports the result.
//
// Two controller protocols:
// * Buildbox (/api/v1): claim atomically, ack the message on claim (so RabbitMQ's consumer
//   timeout cannot redeliver a long build), heartbeat to keep the lease, stream the log in
//   offset-addressed chunks, upload the artifacts, finish with status + result category.
// * pyBit (no /api/v1; spec/pybit.md §5.2): GET the job's status, PUT Building with our client
//   name, keep the message unacked until the end, PUT the final status, and republish a
//   dep-waiting request ourselves.
// In both, a controller or broker that cannot be reached is waited out with back-off; it never
// turns into a failed build (pyBit bug #95).
import { basename } from 'node:path';
import { classOf, decodeJsonpickle } from '@shared/jsonpickle';
import { buildRoutingKey, taskComplete } from '@shared/pybit-models';
import type { ResultCategory } from '@shared/statuses';
import type { BuildBackend } from './backends/backend';
import { runBuildJob, type BuildJobResult, type BuildReporter, type JobStage, type ProducedFile } from './build-job';
import { parseBuildRequest, type JobDescription } from './build-request';
import { ControllerClient } from './controller-client';
import { withRetry } from './http-retry';
import type { Delivery, JobTransport } from './job-transport';
import { digestFile } from './file-hash';
import { LogStreamer } from './log-streamer';
import { PybitClient, pybitStatusFor } from './pybit-compat';
import { runCommand } from './run-command';
import type { WorkerConfig } from './worker-config';
import type { WorkerHello } from '@shared/worker-api';

export interface WorkerServiceOptions {
  config: WorkerConfig;
  transport: JobTransport;
  backend: BuildBackend;
  /** One line per event (the build logs themselves go to files and the controller). */
  log: (line: string) => void;
  version?: string;
}

type Mode = 'buildbox' | 'pybit';
type StopReason = 'cancel' | 'lease' | 'shutdown';

interface RunningJob {
  jobId: number;
  mode: Mode;
  abort: AbortController;
  /** The message, while it is still unacked (pyBit mode holds it for the whole build). */
  delivery: Delivery | null;
  stopReason?: StopReason;
  /** The controller said the job was cancelled (heartbeat), or a CancelRequest came. */
  cancelled: boolean;
}

const FINAL_REPORT_RETRY = { minDelayMs: 500, maxDelayMs: 15_000 };

export class WorkerService {
  private readonly cfg: WorkerConfig;
  private readonly transport: JobTransport;
  /** Deliveries being looked at (not yet building or dropped). */
  private evaluating = 0;
  private readonly running = new Map<number, RunningJob>();
  private readonly modes = new Map<string, { mode: Mode; at: number }>();
  private readonly recentlyCancelled = new Set<number>();
  private readonly stopping = new AbortController();
  /** Fires some time after stop(): final reports stop retrying so that the process can exit. */
  private readonly giveUp = new AbortController();
  private readonly helloTimers = new Map<string, NodeJS.Timeout>();
  private readonly finished: Promise<void>[] = [];
  /** A workspace could not be removed: take no more jobs (pyBit's FATAL_ERROR, without the wedge on restart). */
  private wedged = false;

  constructor(private readonly opts: WorkerServiceOptions) {
    this.cfg = opts.config;
    this.transport = opts.transport;
  }

  private log(line: string): void {
    this.opts.log(line);
  }

  get busySlots(): number {
    return this.running.size + this.evaluating;
  }

  async start(): Promise<void> {
    await this.transport.start({
      build: (d) => void this.onBuild(d),
      command: (body) => void this.onCommand(body),
      connected: () => void this.updateCredit(),
    });
    await this.updateCredit();
    if (this.cfg.controller) void this.modeFor(this.cfg.controller).catch(() => {});
  }

  /**
   * Stop taking jobs; running builds are stopped and handed back (Blocked + GIVENBACK, or in
   * pyBit mode Blocked and the message requeued) so that another worker builds them.
   */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    for (const t of this.helloTimers.values()) clearInterval(t);
    const giveUp = setTimeout(() => this.giveUp.abort(), 30_000);
    await this.transport.setCredit(0).catch(() => {});
    for (const r of this.running.values()) {
      r.stopReason ??= 'shutdown';
      r.abort.abort();
    }
    await Promise.allSettled(this.finished);
    clearTimeout(giveUp);
    await this.transport.stop();
  }

  // ---- credit: how many build messages may be outstanding ----

  /**
   * Free slots, counting only what does not already hold an unacked message on the current
   * channel (the broker counts those against the prefetch itself).
   */
  private updateCredit(): Promise<void> {
    if (this.stopping.signal.aborted || this.wedged) return this.transport.setCredit(0);
    let occupied = 0;
    for (const r of this.running.values()) if (!(r.delivery && r.delivery.live())) occupied++;
    return this.transport.setCredit(Math.max(0, this.cfg.slots - occupied));
  }

  // ---- controller protocol detection ----

  private controllerFor(job: JobDescription): string {
    if (this.cfg.controller) return this.cfg.controller;
    if (!job.webHost) throw new Error('the message has no web_host and no --controller was given');
    return /^https?:\/\//.test(job.webHost) ? job.webHost : `http://${job.webHost}`;
  }

  private buildboxClient(base: string): ControllerClient {
    return new ControllerClient(base, this.cfg.clientName, this.cfg.token);
  }

  private pybitClient(base: string): PybitClient {
    return new PybitClient({ baseUrl: base, token: this.cfg.token });
  }

  private hello(): WorkerHello {
    return {
      name: this.cfg.clientName,
      arch: this.cfg.arch,
      dist: this.cfg.dist,
      format: this.cfg.format,
      suites: this.cfg.suites,
      backend: this.cfg.backend,
      slots: this.cfg.slots,
      state: this.stopping.signal.aborted ? 'stopping' : this.running.size ? 'building' : 'idle',
      currentJobs: [...this.running.keys()],
      version: this.opts.version,
    };
  }

  /** Probes with a hello; a plain pyBit controller answers 404. Cached, re-probed every 5 minutes. */
  private async modeFor(base: string): Promise<Mode> {
    const cached = this.modes.get(base);
    if (cached && Date.now() - cached.at < 300_000) return cached.mode;
    const client = this.buildboxClient(base);
    const res = await withRetry(() => client.hello(this.hello()), {
      signal: this.stopping.signal,
      onRetry: (e, n) => n === 1 && this.log(`controller ${base} unreachable (${(e as Error).message}); retrying`),
    });
    const mode = res.mode;
    if (cached?.mode !== mode) this.log(mode === 'buildbox' ? `controller ${base}: Buildbox /api/v1` : `controller ${base}: no /api/v1, using pyBit's protocol`);
    this.modes.set(base, { mode, at: Date.now() });
    if (mode === 'buildbox') this.keepSayingHello(base, res.helloEverySeconds ?? 30);
    return mode;
  }

  /** An idle worker stays listed as online only if it says hello every so often. */
  private keepSayingHello(base: string, seconds: number): void {
    if (this.helloTimers.has(base)) return;
    const t = setInterval(() => {
      this.buildboxClient(base)
        .hello(this.hello())
        .catch(() => {}); // unreachable now: the next one will do
    }, Math.max(1, seconds) * 1000);
    t.unref();
    this.helloTimers.set(base, t);
  }

  // ---- messages ----

  private async onBuild(d: Delivery): Promise<void> {
    if (this.stopping.signal.aborted || this.busySlots >= this.cfg.slots) {
      // Only possible in the instant the prefetch is being lowered: let someone else have it.
      d.nack(true);
      return;
    }
    let job: JobDescription;
    let raw: unknown;
    try {
      raw = decodeJsonpickle(d.body.toString());
      const cls = classOf(raw);
      if (cls !== undefined && cls !== 'BuildRequest') throw new Error(`unexpected message type ${cls}`);
      job = parseBuildRequest(raw);
    } catch (err) {
      this.log(`dropping an unusable build message: ${(err as Error).message}`);
      d.ack();
      return;
    }
    if (this.running.has(job.jobId)) {
      // A redelivery of what we are building (the connection dropped in pyBit mode): the old
      // delivery is gone, so this one is acked when the build ends.
      const r = this.running.get(job.jobId)!;
      if (r.mode === 'pybit' && !(r.delivery && r.delivery.live())) r.delivery = d;
      else d.ack();
      return;
    }
    if (this.recentlyCancelled.has(job.jobId)) {
      this.log(`job ${job.jobId}: cancelled before it started; dropping the message`);
      d.ack();
      return;
    }

    this.evaluating++;
    let started = false;
    try {
      const base = this.controllerFor(job);
      const mode = await this.modeFor(base);
      started = mode === 'buildbox' ? await this.startBuildbox(d, job, raw, base) : await this.startPybit(d, job, raw, base);
    } catch (err) {
      if (!this.stopping.signal.aborted) {
        this.log(`job ${job.jobId}: cannot start (${(err as Error).message}); requeueing the message`);
        // Not a build failure: give it back after a pause so that a persistent problem does not spin.
        await new Promise((r) => setTimeout(r, 2000));
      }
      d.nack(true);
    } finally {
      this.evaluating--;
      if (!started) await this.updateCredit();
    }
  }

  private async onCommand(body: Buffer): Promise<void> {
    let msg: unknown;
    try {
      msg = decodeJsonpickle(body.toString());
    } catch {
      this.log('ignoring a command message that is not JSON');
      return;
    }
    const cls = classOf(msg);
    if (cls === 'TaskComplete') return; // our own stage reports (pyBit drove its state machine with them)
    if (cls !== 'CancelRequest') {
      this.log(`ignoring command ${cls ?? '(untyped)'}`);
      return;
    }
    const m = msg as { job?: { id?: unknown }; web_host?: unknown };
    const jobId = Number(m.job?.id);
    if (!Number.isInteger(jobId)) {
      this.log('ignoring a CancelRequest without a job id');
      return;
    }
    const r = this.running.get(jobId);
    this.log(r ? `job ${jobId}: cancel requested; stopping the build` : `job ${jobId}: cancel requested for a job this worker is not building; reporting Cancelled`);
    if (r) {
      r.cancelled = true;
      r.stopReason ??= 'cancel';
      r.abort.abort();
      if (r.mode === 'pybit') void this.pybitCancelled(jobId, typeof m.web_host === 'string' ? m.web_host : null);
      return;
    }
    this.recentlyCancelled.add(jobId);
    if (this.recentlyCancelled.size > 1000) this.recentlyCancelled.delete(this.recentlyCancelled.values().next().value as number);
    // pyBit PUTs Cancelled for any job id it is told about.
    const webHost = typeof m.web_host === 'string' ? m.web_host : null;
    try {
      const base = this.cfg.controller ?? (webHost ? `http://${webHost}` : null);
      if (!base) return;
      const mode = await this.modeFor(base);
      if (mode === 'pybit') await this.pybitCancelled(jobId, webHost);
      else await withRetry(() => this.buildboxClient(base).finish(jobId, { status: 'Cancelled', result: 'ABORTED', details: 'cancelled' }), { deadlineMs: 60_000 });
    } catch (err) {
      this.log(`job ${jobId}: reporting Cancelled failed: ${(err as Error).message}`);
    }
  }

  private async pybitCancelled(jobId: number, webHost: string | null): Promise<void> {
    const base = this.cfg.controller ?? (webHost ? `http://${webHost}` : null);
    if (!base) return;
    await withRetry(() => this.pybitClient(base).putStatus(jobId, 'Cancelled'), { deadlineMs: 60_000, signal: this.giveUp.signal }).catch((err) =>
      this.log(`job ${jobId}: PUT Cancelled failed: ${(err as Error).message}`),
    );
  }

  // ---- Buildbox controller ----

  private async startBuildbox(d: Delivery, job: JobDescription, raw: unknown, base: string): Promise<boolean> {
    const client = this.buildboxClient(base);
    const res = await withRetry(() => client.claim(job.jobId), {
      signal: this.stopping.signal,
      onRetry: (e, n) => n === 1 && this.log(`job ${job.jobId}: claim failed (${(e as Error).message}); retrying`),
    });
    if (res.kind === 'skip') {
      this.log(`job ${job.jobId}: not claimed (HTTP ${res.status}${res.reason ? `: ${res.reason}` : ''}); dropping the message`);
      d.ack();
      return false;
    }
    const r: RunningJob = { jobId: job.jobId, mode: 'buildbox', abort: new AbortController(), delivery: null, cancelled: false };
    this.running.set(job.jobId, r);
    // Lower the prefetch before acking, so the broker cannot slip in a message beyond our slots.
    await this.updateCredit();
    d.ack();
    this.log(`job ${job.jobId}: claimed (${job.package} ${job.version} ${job.arch} ${job.suite}); lease ${res.claim.leaseSeconds} s`);
    const request = res.claim.request ?? raw;
    const leaseMs = res.claim.leaseSeconds * 1000;
    this.track(job.jobId, this.runBuildbox(r, job, request, client, Math.max(250, Math.min(this.cfg.heartbeatMs, leaseMs / 3))));
    return true;
  }

  private async runBuildbox(r: RunningJob, job: JobDescription, request: unknown, client: ControllerClient, heartbeatMs: number): Promise<void> {
    let streamer: LogStreamer | null = null;
    let logPath: string | null = null;
    let lastStatus = 'Building';
    let beatFailed = false;
    const beat = setInterval(() => {
      client.heartbeat(job.jobId).then(
        (h) => {
          lastStatus = h.status;
          if (h.stop && !r.abort.signal.aborted) {
            const cancelled = h.reason ? h.reason === 'cancelled' : h.status === 'Cancelled';
            r.cancelled ||= cancelled;
            r.stopReason ??= cancelled ? 'cancel' : 'lease';
            this.log(`job ${job.jobId}: the controller says stop (status ${h.status}); stopping the build`);
            r.abort.abort();
          }
        },
        (err: unknown) => {
          // An unreachable controller: keep building; the lease decides. Say so once.
          if (!beatFailed) this.log(`job ${job.jobId}: heartbeat failed (${(err as Error).message}); still building`);
          beatFailed = true;
        },
      );
    }, heartbeatMs);
    const reporter: BuildReporter = {
      log: (fileLog) => {
        logPath = fileLog.path;
        // A controller that has less than we think (it lost a chunk) tells us where to resume.
        const send = async (offset: number, data: Buffer): Promise<void> => {
          const res = await client.appendLog(job.jobId, offset, data);
          if (res.gapAt === undefined) return;
          for (let at = res.gapAt; at < offset; ) {
            const missing = await fileLog.readChunk(at, Math.min(256 * 1024, offset - at));
            if (missing.data.length === 0) break;
            const again = await client.appendLog(job.jobId, at, missing.data);
            if (again.gapAt !== undefined) throw new Error(`log of job ${job.jobId}: the controller keeps reporting a gap at ${again.gapAt}`);
            at = missing.next;
          }
          await client.appendLog(job.jobId, offset, data);
        };
        streamer = new LogStreamer(fileLog, ({ offset, data }) => send(offset, data), { intervalMs: 500 });
        streamer.start();
      },
      artifacts: async (files, j, outcome) => {
        // A few at a time: each upload is mostly waiting (hashing and storing on the controller).
        const queue = [...files];
        const lane = async () => {
          for (let f = queue.shift(); f; f = queue.shift()) {
            const file = f;
            await withRetry(() => client.uploadArtifact(job.jobId, file), { deadlineMs: 600_000, signal: r.abort.signal });
          }
        };
        await Promise.all(Array.from({ length: Math.min(3, queue.length) }, lane));
        await this.dput(j, files, outcome.changesFile, r.abort.signal);
      },
    };
    let result: BuildJobResult;
    try {
      result = await this.build(r, request, reporter);
    } finally {
      clearInterval(beat);
    }
    const s = streamer as LogStreamer | null;
    const stoppedForLease = r.stopReason === 'lease' && !r.cancelled;
    try {
      if (s && !stoppedForLease) {
        // The last chunks of the live log and the whole log as an artifact go out together: both
        // read the finished file, and neither needs the other.
        const lp = logPath as string | null;
        await Promise.all([
          s.stop().catch(() => withRetry(() => s.flush(), { ...FINAL_REPORT_RETRY, deadlineMs: 600_000, signal: this.giveUp.signal })),
          lp &&
            digestFile(lp).then((dg) =>
              withRetry(() => client.uploadArtifact(job.jobId, { name: basename(lp), path: lp, sha256: dg.sha256 }), { ...FINAL_REPORT_RETRY, deadlineMs: 600_000, signal: this.giveUp.signal }),
            ),
        ]);
      }
    } catch (err) {
      this.log(`job ${job.jobId}: sending the log failed: ${(err as Error).message}`);
    }
    if (stoppedForLease) {
      this.log(`job ${job.jobId}: lease lost (status ${lastStatus}); not reporting a result`);
      return;
    }
    const { status, category, details } = this.finalReport(r, result);
    try {
      const code = await withRetry(() => client.finish(job.jobId, { status, result: category, details }), {
        ...FINAL_REPORT_RETRY,
        signal: this.giveUp.signal,
        onRetry: (e, n) => n === 1 && this.log(`job ${job.jobId}: reporting ${status} failed (${(e as Error).message}); retrying until the controller answers`),
      });
      this.log(`job ${job.jobId}: ${status} (${category}${details ? `: ${details}` : ''})${code >= 400 ? ` — the controller refused it with HTTP ${code}` : ''}`);
    } catch (err) {
      this.log(`job ${job.jobId}: reporting ${status} failed: ${(err as Error).message}`);
    }
  }

  private finalReport(r: RunningJob, result: BuildJobResult): { status: 'Done' | 'Failed' | 'Blocked' | 'Cancelled'; category: ResultCategory; details?: string } {
    if (r.stopReason === 'shutdown' && !r.cancelled) {
      return { status: 'Blocked', category: 'GIVENBACK', details: 'the worker was stopped during the build' };
    }
    if (r.cancelled || result.category === 'ABORTED') return { status: 'Cancelled', category: 'ABORTED', details: 'cancelled' };
    const status = pybitStatusFor(result.category);
    const details = result.category === 'DEPFAIL' ? result.missingDependencies || result.message : result.message;
    return { status, category: result.category, details: details?.slice(0, 10_000) };
  }

  // ---- pyBit controller ----

  private async startPybit(d: Delivery, job: JobDescription, raw: unknown, base: string): Promise<boolean> {
    const client = this.pybitClient(base);
    const state = await withRetry(() => client.jobState(job.jobId), { signal: this.stopping.signal });
    let build = state.kind === 'build';
    if (state.kind === 'other' && state.status === 'Building' && state.client === this.cfg.clientName) {
      // Recorded as ours but not running here: this worker died mid-build. Build it again
      // rather than leave it Building for ever (pyBit §5.7).
      build = true;
    }
    if (!build) {
      const why = state.kind === 'unknown' ? 'unknown job' : `status ${state.status}`;
      this.log(`job ${job.jobId}: ${why}; dropping the message`);
      d.ack();
      return false;
    }
    const r: RunningJob = { jobId: job.jobId, mode: 'pybit', abort: new AbortController(), delivery: d, cancelled: false };
    this.running.set(job.jobId, r);
    await this.updateCredit();
    this.log(`job ${job.jobId}: building (${job.package} ${job.version} ${job.arch} ${job.suite}), pyBit protocol`);
    this.track(job.jobId, this.runPybit(r, job, raw, client));
    return true;
  }

  private async runPybit(r: RunningJob, job: JobDescription, raw: unknown, client: PybitClient): Promise<void> {
    const reporter: BuildReporter = {
      stage: async (stage) => {
        // pyBit PUTs Building when it enters CHECKOUT.
        if (stage === 'fetch') {
          await withRetry(() => client.putStatus(job.jobId, 'Building', this.cfg.clientName), { signal: r.abort.signal, deadlineMs: 600_000 });
        }
      },
      artifacts: async (files, j, outcome) => {
        await this.dput(j, files, outcome.changesFile, r.abort.signal);
      },
    };
    const result = await this.build(r, raw, reporter);
    const { status } = this.finalReport(r, result);
    // IDLE: ack first, then the status, as pyBit does.
    const ackNow = () => {
      r.delivery?.ack();
      r.delivery = null;
    };
    if (r.stopReason === 'shutdown' && !r.cancelled) {
      await withRetry(() => client.putStatus(job.jobId, 'Blocked'), { ...FINAL_REPORT_RETRY, deadlineMs: 30_000 }).catch(() => {});
      r.delivery?.nack(true);
      r.delivery = null;
      return;
    }
    ackNow();
    if (r.cancelled) {
      this.log(`job ${job.jobId}: Cancelled`);
      return; // Cancelled was PUT when the CancelRequest came
    }
    try {
      await withRetry(() => client.putStatus(job.jobId, status), { ...FINAL_REPORT_RETRY, signal: this.giveUp.signal });
    } catch (err) {
      this.log(`job ${job.jobId}: PUT ${status} failed: ${(err as Error).message}`);
    }
    this.log(`job ${job.jobId}: ${status} (${result.category}${result.missingDependencies ? `: ${result.missingDependencies}` : result.message ? `: ${result.message}` : ''})`);
    if (status === 'Blocked') {
      // pyBit §4: the same BuildRequest goes back to the same routing key, timestamp set, not persistent.
      const again = { ...(typeof raw === 'object' && raw ? raw : {}), timestamp: Date.now() / 1000 };
      const key = buildRoutingKey(job.distribution, job.arch, job.suite, job.format);
      const ok = await this.transport.publish(key, JSON.stringify(again), { persistent: false, mandatory: true });
      if (!ok) this.log(`job ${job.jobId}: could not republish the request (broker unavailable)`);
    }
  }

  // ---- shared build machinery ----

  /**
   * Runs the build. Publishes a TaskComplete on our own command queue when each stage ends
   * (pyBit §4, checklist 56): entering a stage means the one before succeeded; the stage that
   * decided the result and the clean stage are reported when the job returns.
   */
  private async build(r: RunningJob, request: unknown, reporter: BuildReporter): Promise<BuildJobResult> {
    let current: JobStage | null = null;
    let decided: JobStage | null = null;
    const ended = (ok: boolean, message: string) => {
      void this.transport.publish(this.cfg.clientName, JSON.stringify(taskComplete(ok, message)), { persistent: false });
    };
    const inner: BuildReporter = {
      ...reporter,
      stage: async (stage, job) => {
        if (stage === 'clean') decided = current;
        else if (current) ended(true, 'success');
        current = stage;
        await reporter.stage?.(stage, job);
      },
    };
    let result: BuildJobResult;
    try {
      result = await runBuildJob({
        request,
        backend: this.opts.backend,
        buildroot: this.cfg.buildroot,
        reporter: inner,
        signal: r.abort.signal,
        chrootsDir: this.cfg.chrootsDir,
        fetch: { mirror: this.cfg.mirror, dryRun: this.cfg.dryRun },
        kill: { afterInterruptMs: this.cfg.killAfterInterruptMs, afterTerminateMs: this.cfg.killAfterTerminateMs },
      });
    } catch (err) {
      result = { jobId: r.jobId, category: 'BUILDERFAIL', stage: 'build', message: `worker error: ${(err as Error).message}`, files: [], logPath: null };
    }
    if (decided) ended(result.category === 'OK', result.category === 'OK' ? 'success' : (result.message ?? result.category));
    ended(!result.cleanError, result.cleanError ?? 'success');
    if (result.cleanError) {
      this.wedged = true;
      this.log(`cleaning the workspace failed (${result.cleanError}); this worker takes no more jobs until restarted`);
    }
    return result;
  }

  /** pyBit's upload step (§5.5): debsign when a key is set, then dput, when a dput host is configured. */
  private async dput(job: JobDescription, files: ProducedFile[], changesPath: string | undefined, signal: AbortSignal): Promise<void> {
    if (!this.cfg.dputDest) return;
    const changes = files.find((f) => f.name.endsWith('.changes'))?.path ?? changesPath;
    if (!changes) throw new Error('no .changes file to upload');
    const log = { write: (t: string) => this.log(t.trimEnd()) };
    if (this.cfg.debsignKey) {
      const s = await runCommand('debsign', [`-k${this.cfg.debsignKey}`, changes], { log, signal });
      if (!s.ok) throw new Error(`debsign failed (exit ${s.code})`);
    }
    const target = job.buildEnv ?? this.cfg.dput ?? '-U';
    const args = [...(this.cfg.dputConfig ? ['-c', this.cfg.dputConfig] : []), target, this.cfg.dputDest, changes];
    const u = await runCommand('dput', args, { log, signal });
    if (!u.ok) throw new Error(`dput failed (exit ${u.code})`);
  }

  private track(jobId: number, p: Promise<void>): void {
    const done: Promise<void> = p
      .catch((err) => this.log(`internal error: ${(err as Error).stack ?? String(err)}`))
      .finally(() => {
        this.running.delete(jobId);
        const i = this.finished.indexOf(done);
        if (i >= 0) this.finished.splice(i, 1);
        void this.updateCredit();
      });
    this.finished.push(done);
  }

  /** Exposed for `box` and tests: jobs currently building. */
  currentJobs(): number[] {
    return [...this.running.keys()];
  }
}
