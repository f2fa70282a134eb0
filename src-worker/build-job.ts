// The build state machine, in one place: fetch → build → upload → clean (pyBit §5.2 without
// the polling). Given a BuildRequest, a backend, a buildroot, a reporter and an AbortSignal,
// it returns the result category, its details and the files produced. The workspace is
// always removed, whatever happened. The caller (AMQP consumer, controller client) turns the
// result into pyBit statuses: OK → Done, DEPFAIL → Blocked, ABORTED → Cancelled, ...
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ResultCategory } from '@shared/statuses';
import type { BuildBackend, BuildLog, BuildOutcome, BuildSpec } from './backends/backend';
import { buildLogPath, FileBuildLog, TeeBuildLog } from './build-log';
import { BuildRequestError, parseBuildRequest, type JobDescription } from './build-request';
import { findChroot } from './chroots';
import { digestFile } from './file-hash';
import { FetchError, fetchSource, type FetchContext } from './fetch/index';
import type { KillTimings } from './run-command';

export type JobStage = 'fetch' | 'build' | 'upload' | 'clean';

export interface ProducedFile {
  name: string;
  /** Valid during `reporter.artifacts`; afterwards only if `keepFilesIn` was given. */
  path: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

/**
 * How a job reports while it runs. Every callback is optional and awaited. Errors from
 * `stage` and `log` are written to the build log and otherwise ignored: a controller that
 * cannot be reached must not fail a build (pyBit bug #95).
 */
export interface BuildReporter {
  /** The job enters a stage. `fetch` comes first: where pyBit PUTs `Building`. */
  stage?(stage: JobStage, job: JobDescription): void | Promise<void>;
  /** The build log is open: stream it from here (FileBuildLog.readChunk, LogStreamer). */
  log?(log: FileBuildLog, job: JobDescription): void | Promise<void>;
  /**
   * A successful build produced these files (.changes first). Upload or copy them now: the
   * workspace is deleted afterwards. Throwing gives the job back (GIVENBACK), because a
   * failed upload says nothing about the package.
   */
  artifacts?(files: ProducedFile[], job: JobDescription, outcome: BuildOutcome): Promise<void>;
}

export interface BuildJobOptions {
  /** The pyBit BuildRequest: jsonpickle text or a parsed object. */
  request: unknown;
  backend: BuildBackend;
  /** Holds `logs/` and the per-job workspaces `<suite>/<method>/job-<id>/`. */
  buildroot: string;
  reporter?: BuildReporter;
  /** Aborting (a CancelRequest) kills the running command's process tree; the job ends ABORTED. */
  signal?: AbortSignal;
  /** Where chroot tarballs are found for sbuild (chroots.ts). */
  chrootsDir?: string;
  /** apt mirror, unauthenticated apt, dry-run fetches. */
  fetch?: Pick<FetchContext, 'mirror' | 'aptAllowUnauthenticated' | 'aptComponents' | 'dryRun'>;
  kill?: Partial<KillTimings>;
  debugSymbols?: boolean;
  /** Extra apt sources lines and base64 OpenPGP keys for the build chroot. */
  archives?: string[];
  trustedKeys?: string[];
  /** Move the produced files here before the workspace is removed. */
  keepFilesIn?: string;
  /** Also write the log here (e.g. the worker's console). */
  logTee?: BuildLog;
  /** Seconds since the epoch for the log name when the request has no timestamp. */
  now?: () => number;
}

export interface BuildJobResult {
  jobId: number | null;
  category: ResultCategory;
  /** The stage that decided the result (`request` for an unusable BuildRequest). */
  stage: JobStage | 'request';
  /** DEPFAIL: the unsatisfied relations. */
  missingDependencies?: string;
  message?: string;
  files: ProducedFile[];
  /** Name of the main .changes file, if the build made one. */
  changesFile?: string;
  logPath: string | null;
  /** Set when removing the workspace failed: the worker should stop taking jobs (pyBit FATAL_ERROR). */
  cleanError?: string;
}

function describeJob(job: JobDescription, backend: string): string {
  const t = job.transport;
  return [
    `Buildbox build log (worker ${hostname()})`,
    `Job: ${job.jobId}`,
    `Package: ${job.package} ${job.version}`,
    `Architecture: ${job.arch}`,
    `Suite: ${job.suite}  Distribution: ${job.distribution}  Format: ${job.format}  Build environment: ${job.buildEnv ?? '-'}`,
    `Build type: ${job.master ? 'master (source + arch-independent + arch-dependent)' : 'slave (arch-dependent only)'}`,
    `Backend: ${backend}`,
    `Source: ${t.method} ${t.uri ?? '-'}${t.vcsId ? ` @ ${t.vcsId}` : ''}`,
    `Started: ${new Date().toISOString()}`,
    '',
  ].join('\n');
}

async function produced(outcome: BuildOutcome): Promise<ProducedFile[]> {
  return Promise.all(
    outcome.files.map(async (p) => {
      const d = await digestFile(p);
      return { name: d.name, path: p, size: d.size, md5: d.md5, sha1: d.sha1, sha256: d.sha256 };
    }),
  );
}

export async function runBuildJob(opts: BuildJobOptions): Promise<BuildJobResult> {
  const signal = opts.signal ?? new AbortController().signal;
  let job: JobDescription;
  try {
    job = parseBuildRequest(opts.request);
  } catch (err) {
    const message = err instanceof BuildRequestError ? err.message : String(err);
    return { jobId: null, category: 'PACKAGEFAIL', stage: 'request', message, files: [], logPath: null };
  }

  const epoch = job.timestamp ?? opts.now?.() ?? Date.now() / 1000;
  const fileLog = new FileBuildLog(buildLogPath(opts.buildroot, job.package, job.version, job.arch, epoch));
  const log: BuildLog = opts.logTee ? new TeeBuildLog(fileLog, opts.logTee) : fileLog;
  const tell = async (what: string, fn: () => void | Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      log.write(`WARNING: reporting ${what} failed: ${(err as Error).message}\n`);
    }
  };
  await tell('the log', () => opts.reporter?.log?.(fileLog, job));
  log.write(describeJob(job, opts.backend.name));

  // One workspace per job, so that two slots never share a tree (pyBit used <suite>/<method>/<pkg>).
  const workspace = join(opts.buildroot, job.suite, job.transport.method, `job-${job.jobId}`);
  const sourceDir = join(workspace, 'source');
  const buildDir = join(workspace, 'build');
  const result: BuildJobResult = { jobId: job.jobId, category: 'BUILDERFAIL', stage: 'fetch', files: [], logPath: fileLog.path };
  const finish = (stage: JobStage, category: ResultCategory, extra: Partial<BuildJobResult> = {}) =>
    Object.assign(result, { stage, category, ...extra });
  const aborted = (stage: JobStage) => finish(stage, 'ABORTED', { message: 'build aborted' });

  try {
    rmSync(workspace, { recursive: true, force: true }); // leftovers of a crashed earlier attempt
    mkdirSync(sourceDir, { recursive: true });
    mkdirSync(buildDir, { recursive: true });

    await tell('stage fetch', () => opts.reporter?.stage?.('fetch', job));
    log.write('\n=== Fetching source ===\n');
    let dsc: string;
    try {
      const fetched = await fetchSource(
        { method: job.transport.method, uri: job.transport.uri, vcsId: job.transport.vcsId, package: job.package, version: job.version, suite: job.suite },
        { ...opts.fetch, dir: sourceDir, log, signal, kill: opts.kill },
      );
      dsc = fetched.dsc;
    } catch (err) {
      const e = err as Error;
      if (signal.aborted || (err instanceof FetchError && err.aborted)) return aborted('fetch');
      log.write(`Fetching the source failed: ${e.message}\n`);
      return finish('fetch', 'PACKAGEFAIL', { message: `fetch failed: ${e.message}` });
    }
    if (signal.aborted) return aborted('fetch');

    await tell('stage build', () => opts.reporter?.stage?.('build', job));
    log.write('\n=== Building ===\n');
    const chroot = opts.chrootsDir ? findChroot(opts.chrootsDir, { suite: job.suite, arch: job.arch, buildEnv: job.buildEnv }) : undefined;
    const spec: BuildSpec = {
      workdir: buildDir,
      dsc,
      arch: job.arch,
      suite: job.suite,
      buildEnv: job.buildEnv,
      archIndep: job.master,
      chrootTarball: chroot?.path,
      archives: opts.archives,
      trustedKeys: opts.trustedKeys,
      debugSymbols: opts.debugSymbols,
      log,
      signal,
    };
    let outcome: BuildOutcome;
    try {
      outcome = await opts.backend.build(spec);
    } catch (err) {
      // A backend that throws is broken, not the package.
      outcome = { category: 'BUILDERFAIL', files: [], message: `backend ${opts.backend.name} failed: ${(err as Error).message}` };
    }
    if (signal.aborted) return aborted('build');
    finish('build', outcome.category, {
      missingDependencies: outcome.missingDependencies,
      message: outcome.message,
      changesFile: outcome.changesFile?.split('/').pop(),
    });
    if (outcome.category !== 'OK') return result;

    result.files = await produced(outcome);
    if (result.files.length && opts.reporter?.artifacts) {
      await tell('stage upload', () => opts.reporter?.stage?.('upload', job));
      log.write('\n=== Uploading results ===\n');
      try {
        await opts.reporter.artifacts(result.files, job, outcome);
        log.write(`Uploaded ${result.files.length} file(s)\n`);
      } catch (err) {
        log.write(`Uploading the results failed: ${(err as Error).message}\n`);
        return finish('upload', 'GIVENBACK', { message: `upload failed: ${(err as Error).message}` });
      }
    }
    if (opts.keepFilesIn) {
      mkdirSync(opts.keepFilesIn, { recursive: true });
      for (const f of result.files) {
        const dest = join(opts.keepFilesIn, f.name);
        try {
          renameSync(f.path, dest);
        } catch {
          copyFileSync(f.path, dest); // another filesystem
        }
        f.path = dest;
      }
    }
    return result;
  } catch (err) {
    // Our own machinery failed (disk full, permissions): the builder's fault.
    return finish(result.stage as JobStage, 'BUILDERFAIL', {
      message: `worker error: ${(err as Error).message}`,
    });
  } finally {
    await tell('stage clean', () => opts.reporter?.stage?.('clean', job));
    log.write('\n=== Cleaning up ===\n');
    try {
      rmSync(workspace, { recursive: true, force: true });
    } catch (err) {
      result.cleanError = (err as Error).message;
      log.write(`Removing ${workspace} failed: ${result.cleanError}\n`);
    }
    log.write(`\nResult: ${result.category} (at ${result.stage})\n`);
    if (result.missingDependencies) log.write(`Missing dependencies: ${result.missingDependencies}\n`);
    if (result.message) log.write(`Details: ${result.message}\n`);
    log.write(`Finished: ${new Date().toISOString()}\n`);
    fileLog.close();
  }
}
