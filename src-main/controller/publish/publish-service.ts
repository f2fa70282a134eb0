// Publishes Done jobs into the controller's apt repositories: on every change to Done (and on a
// periodic scan that catches up after a restart or a failure), the job's .changes and the files
// it names are copied out of the librarian, signed when a key is configured, and included with
// reprepro into <dataDir>/repo/<dist> under the suite's codename.
import { mkdirSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Ctx } from '../context';
import { FileStore } from '../store/file-store';
import { commandRunner, type CommandRunner } from './command-runner';
import { PublishState } from './publish-state';
import { RepreproRepos, type SuiteArches } from './reprepro-repo';
import { Signer } from './signer';

export interface PublishOptions {
  signKey?: string;
  gnupgHome?: string;
  /** First retry delay after a failed publish (doubles per attempt). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  runner?: CommandRunner;
}

export function repoRoot(dataDir: string): string {
  return join(dataDir, 'repo');
}

export class PublishService {
  readonly repos: RepreproRepos;
  readonly state: PublishState;
  private readonly files: FileStore;
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly work: string;
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly opts: PublishOptions = {},
  ) {
    const root = repoRoot(ctx.config.dataDir);
    mkdirSync(root, { recursive: true });
    const runner = opts.runner ?? commandRunner((l) => ctx.log.info(l));
    const signer = opts.signKey ? new Signer(runner, { keyId: opts.signKey, gnupgHome: opts.gnupgHome }) : null;
    this.repos = new RepreproRepos(root, runner, signer);
    this.signer = signer;
    this.state = new PublishState(join(root, 'publish-state.json'));
    this.files = new FileStore(join(ctx.config.dataDir, 'files'));
    this.work = join(root, '.work');
  }

  private readonly signer: Signer | null;

  start(): void {
    this.unsubscribe = this.ctx.events.on((e) => {
      if (e.type === 'job.status' && e.status === 'Done') void this.publish(e.jobId);
    });
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    await this.scanning;
    await Promise.all([...this.inFlight.values()]);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.scanning = this.scan()
        .catch((e) => this.ctx.log.warn(`publisher: ${(e as Error).message}`))
        .finally(() => {
          this.scanning = null;
          this.schedule(this.ctx.config.sweepIntervalMs ?? 2000);
        });
    }, ms);
    this.timer.unref?.();
  }

  /** Done jobs not yet published whose retry time has come. */
  async scan(): Promise<void> {
    const rows = await this.ctx.db.kysely.selectFrom('job').select('id').where('status', '=', 'Done').orderBy('id').execute();
    for (const { id } of rows) {
      if (this.stopped) return;
      if (this.state.isPublished(id)) continue;
      const f = this.state.failure(id);
      if (f && f.nextAt > Date.now()) continue;
      await this.publish(id);
    }
  }

  /** Publishes one job; concurrent calls for the same job share one run. Never throws. */
  publish(jobId: number): Promise<void> {
    const running = this.inFlight.get(jobId);
    if (running) return running;
    if (this.state.isPublished(jobId)) return Promise.resolve();
    const p = this.publishOnce(jobId)
      .catch(async (e) => {
        const rec = await this.state.markFailed(jobId, (e as Error).message, this.opts.retryBaseMs ?? 5000, this.opts.retryMaxMs ?? 600_000);
        this.ctx.log.warn(`publishing job ${jobId} failed (attempt ${rec.attempts}, retried later): ${(e as Error).message}`);
      })
      .finally(() => this.inFlight.delete(jobId));
    this.inFlight.set(jobId, p);
    return p;
  }

  private async suitesOf(): Promise<SuiteArches[]> {
    const rows = await this.ctx.db.kysely
      .selectFrom('suitearches as sa')
      .innerJoin('suite as s', 's.id', 'sa.suite_id')
      .innerJoin('arch as a', 'a.id', 'sa.arch_id')
      .select(['s.name as suite', 'a.name as arch'])
      .execute();
    const m = new Map<string, Set<string>>();
    for (const r of rows) {
      if (!m.has(r.suite)) m.set(r.suite, new Set());
      m.get(r.suite)!.add(r.arch);
    }
    return [...m].sort(([a], [b]) => a.localeCompare(b)).map(([suite, arches]) => ({ suite, arches: [...arches] }));
  }

  private async publishOnce(jobId: number): Promise<void> {
    const db = this.ctx.db.kysely;
    const job = await db
      .selectFrom('job as j')
      .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
      .innerJoin('suite as s', 's.id', 'pi.suite_id')
      .innerJoin('distribution as d', 'd.id', 'pi.dist_id')
      .innerJoin('arch as a', 'a.id', 'pi.arch_id')
      .select(['j.status', 's.name as suite', 'd.name as dist', 'a.name as arch'])
      .where('j.id', '=', jobId)
      .executeTakeFirst();
    if (!job) throw new Error(`job ${jobId} no longer exists`);
    if (job.status !== 'Done') throw new Error(`job ${jobId} is ${job.status}, not Done`);
    const arts = await db.selectFrom('artifacts').select(['name', 'sha1']).where('job_id', '=', jobId).execute();
    const changes = arts.filter((a) => a.name.endsWith('.changes'));
    if (changes.length === 0) throw new Error(`job ${jobId} has no .changes artifact`);
    const dir = join(this.work, String(jobId));
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    try {
      for (const a of arts) {
        if (a.name.includes('/') || a.name.startsWith('.')) continue;
        await copyFile(this.files.path(a.sha1), join(dir, a.name));
      }
      let suites = await this.suitesOf();
      if (!suites.some((s) => s.suite === job.suite)) suites = [...suites, { suite: job.suite, arches: [job.arch] }];
      for (const c of changes) {
        const path = join(dir, c.name);
        if (this.signer) await this.signer.signChanges(path);
        await this.repos.include(job.dist, suites, job.suite, path);
        // The upload as published (signed when a key is configured), served beside the pool.
        const kept = join(this.repos.base(job.dist), 'changes');
        await mkdir(kept, { recursive: true });
        await copyFile(path, join(kept, c.name));
      }
      await this.state.markPublished(jobId, { dist: job.dist, suite: job.suite, changes: changes.map((c) => c.name).join(' '), at: new Date().toISOString() });
      this.ctx.log.info(`published job ${jobId} into ${job.dist}/${job.suite}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
