// The launchpad-buildd builder state machine (spec §2-§3):
//
//   IDLE --build()--> BUILDING --finished--> WAITING --clean()--> IDLE
//                        |abort()                ^
//                        v                       |
//                     ABORTING ----finished------+  (ABORTED, or BUILDERFAIL if the kill timed out)
//
// Differences from the original, on purpose (§10): every build() argument is validated before
// leaving IDLE (a refused call changes nothing, not even the log); downloads are asynchronous;
// cache names are checked; fault strings say why.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildBackend } from '../backends/backend';
import type { ResultCategory } from '@shared/statuses';
import { binaryPackageManager } from './binarypackage';
import { BuildLogFile, readLogTail } from './build-log';
import { downloadToCache, type EnsureResult } from './download';
import { BuilderRefusal } from './errors';
import { BUILDLOG, BUILDLOG_UNSANITIZED, BUILDS_DIR, checkCacheName, CHROOTS_DIR, FileCache, isReservedName } from './file-cache';
import { failedResult, type BuildManagerType, type ManagerContext, type ManagerJob, type ManagerResult } from './manager';
import { runPrepCommand } from './prep-command';
import { sanitiseLine } from './sanitise';
import type { XmlRpcStruct, XmlRpcValue } from './xmlrpc';

export const PROTOCOL_VERSION = '1.0';
export const ABORT_TIMEOUT_MS = 120_000;

export const BuilderStatus = {
  IDLE: 'BuilderStatus.IDLE',
  BUILDING: 'BuilderStatus.BUILDING',
  WAITING: 'BuilderStatus.WAITING',
  ABORTING: 'BuilderStatus.ABORTING',
  UNKNOWNSUM: 'BuilderStatus.UNKNOWNSUM',
  UNKNOWNBUILDER: 'BuilderStatus.UNKNOWNBUILDER',
  /** Legacy (§2.4) only: reported for WAITING + ABORTED in legacy mode. */
  ABORTED: 'BuilderStatus.ABORTED',
} as const;

export type BuilderState = 'IDLE' | 'BUILDING' | 'ABORTING' | 'WAITING';
export const buildStatusName = (c: ResultCategory) => `BuildStatus.${c}`;

/** Build statuses whose WAITING status carries filemap and dependencies (§2.3). */
const WITH_RESULTS: readonly ResultCategory[] = ['OK', 'PACKAGEFAIL', 'DEPFAIL'];

export interface LpBuilderOptions {
  cacheDir: string;
  archTag: string;
  backend: BuildBackend;
  /** Shell command run (in its own process group) before each build; non-zero exit = BUILDERFAIL. */
  prepCommand?: string;
  /** Answer status() with the pre-2013 tuples of §2.4. */
  legacyStatus?: boolean;
  /** Reported as builder_version when set (the original reports its Debian package version). */
  builderVersion?: string;
  /** How long an abort may take before the build is declared BUILDERFAIL (default 120 s). */
  abortTimeoutMs?: number;
  /** Parent of per-build work directories (default: `.builds` in the cache dir, same filesystem). */
  workRoot?: string;
  log?: (line: string) => void;
}

interface CurrentBuild {
  buildId: string;
  job: ManagerJob;
  log: BuildLogFile;
  controller: AbortController;
  aborting: boolean;
  abortTimer?: NodeJS.Timeout;
  /** Set once the outcome is decided (normal end or abort timeout); later news is ignored. */
  completed: boolean;
  result?: ManagerResult;
  done: Promise<void>;
}

/** Python's repr() of a list of strings, for the UNKNOWNBUILDER message. */
function pyListRepr(items: readonly string[]): string {
  const one = (s: string) => {
    const q = s.includes("'") && !s.includes('"') ? '"' : "'";
    const body = [...s]
      .map((c) => {
        if (c === '\\') return '\\\\';
        if (c === q) return `\\${q}`;
        if (c === '\n') return '\\n';
        if (c === '\r') return '\\r';
        if (c === '\t') return '\\t';
        const cp = c.codePointAt(0)!;
        return cp < 0x20 || cp === 0x7f ? `\\x${cp.toString(16).padStart(2, '0')}` : c;
      })
      .join('');
    return q + body + q;
  };
  return `[${items.map(one).join(', ')}]`;
}

export class LpBuilder {
  readonly cache: FileCache;
  private state: BuilderState = 'IDLE';
  private current: CurrentBuild | null = null;
  private cleaning: Promise<string> | null = null;
  private readonly managers = new Map<string, BuildManagerType>([[binaryPackageManager.tag, binaryPackageManager]]);
  private readonly downloads = new Map<string, Promise<EnsureResult>>();
  private readonly shutdown = new AbortController();
  private readonly say: (line: string) => void;

  constructor(private readonly opts: LpBuilderOptions) {
    this.cache = new FileCache(opts.cacheDir);
    this.say = opts.log ?? (() => {});
  }

  async init(): Promise<void> {
    await this.cache.init();
  }

  get builderState(): BuilderState {
    return this.state;
  }

  /** Builder log line, copied into the build log while one is open (as the original does). */
  private note(line: string): void {
    this.say(line);
    this.current?.log.write(`${line}\n`);
  }

  // ------------------------------------------------------------------ echo / info

  echo(...args: XmlRpcValue[]): XmlRpcValue[] {
    return args;
  }

  info(): [string, string, string[]] {
    return [PROTOCOL_VERSION, this.opts.archTag, [...this.managers.keys()]];
  }

  // ------------------------------------------------------------------ status

  async status(): Promise<XmlRpcValue> {
    const s = await this.statusStruct();
    return this.opts.legacyStatus ? toLegacy(s) : s;
  }

  private async statusStruct(): Promise<XmlRpcStruct> {
    const version: XmlRpcStruct = this.opts.builderVersion !== undefined ? { builder_version: this.opts.builderVersion } : {};
    const b = this.current;
    if (this.state === 'IDLE' || !b) return { builder_status: BuilderStatus.IDLE, ...version };
    if (this.state === 'ABORTING') return { builder_status: BuilderStatus.ABORTING, build_id: b.buildId, ...version };
    if (this.state === 'BUILDING') {
      const logtail = await readLogTail(b.log.path, b.job.sanitiseLogs);
      // The log read was asynchronous: if the build moved on meanwhile, answer for the new state.
      if (this.state !== 'BUILDING' || this.current !== b) return this.statusStruct();
      return { builder_status: BuilderStatus.BUILDING, build_id: b.buildId, logtail, ...version };
    }
    const r = b.result!;
    const s: XmlRpcStruct = { builder_status: BuilderStatus.WAITING, build_status: buildStatusName(r.category), build_id: b.buildId };
    if (WITH_RESULTS.includes(r.category)) {
      s.filemap = { ...r.filemap };
      s.dependencies = r.dependencies;
    }
    return { ...s, ...version };
  }

  // ------------------------------------------------------------------ ensurepresent

  /** Cache lookup without a URL: [present, 'No URL']. Throws BuilderRefusal for unsafe names. */
  async present(name: string): Promise<EnsureResult> {
    return [await this.cache.has(name), 'No URL'];
  }

  async ensurepresent(sha1sum: string, url: string | null, username: string | null, password: string | null): Promise<EnsureResult> {
    checkCacheName(sha1sum);
    if (url === null) return this.present(sha1sum);
    // Messages go to the logs, so no credentials from the URL.
    this.note(`Fetching ${sha1sum} by url ${sanitiseLine(url)}`);
    let result: EnsureResult;
    if (await this.cache.has(sha1sum)) {
      result = [true, 'Cache']; // content not re-verified, as the original
    } else {
      if (isReservedName(sha1sum)) throw new BuilderRefusal(`${sha1sum} is a name the builder reserves for itself`);
      // Two callers asking for the same file share one download (and one temp file).
      let inflight = this.downloads.get(sha1sum);
      if (!inflight) {
        inflight = downloadToCache({ url, dest: this.cache.path(sha1sum), sha1: sha1sum, username, password, signal: this.shutdown.signal });
        this.downloads.set(sha1sum, inflight);
        void inflight.finally(() => this.downloads.delete(sha1sum));
      }
      result = await inflight;
    }
    this.note(result[1]);
    return result;
  }

  // ------------------------------------------------------------------ build

  async build(buildId: string, managerTag: string, chrootsum: string, filemap: Record<string, string>, args: XmlRpcStruct): Promise<[string, string]> {
    // Checks in the order of §2.6; none of them changes any state.
    const manager = this.managers.get(managerTag);
    if (!manager) return [BuilderStatus.UNKNOWNBUILDER, `${managerTag} not in ${pyListRepr([...this.managers.keys()])}`];
    const [chrootOk, chrootInfo] = await this.present(chrootsum);
    if (!chrootOk) return [BuilderStatus.UNKNOWNSUM, unknownSumInfo('CHROOTSUM', chrootsum, chrootInfo)];
    for (const sum of Object.values(filemap)) {
      const [ok, info] = await this.present(sum);
      if (!ok) return [BuilderStatus.UNKNOWNSUM, unknownSumInfo('FILESUM', sum, info)];
    }
    if (!buildId) throw new BuilderRefusal('buildid must be a non-empty string');
    if (this.state !== 'IDLE') throw new BuilderRefusal(`Builder is not IDLE when asked to start building (it is ${this.state})`);
    const ctx: ManagerContext = {
      cache: this.cache,
      archTag: this.opts.archTag,
      backend: this.opts.backend,
      workRoot: this.opts.workRoot ?? join(this.opts.cacheDir, BUILDS_DIR),
      chrootDir: join(this.opts.cacheDir, CHROOTS_DIR),
    };
    const job = manager.prepare({ buildId, chrootsum, filemap, args }, ctx);
    // Everything above may have awaited: check again, then switch synchronously.
    if (this.state !== 'IDLE' || this.cleaning) throw new BuilderRefusal(`Builder is not IDLE when asked to start building (it is ${this.state})`);

    const log = new BuildLogFile(join(this.opts.cacheDir, BUILDLOG)); // truncates the previous log
    if (job.buildUrl) log.write(`${job.buildUrl}\n`);
    const b: CurrentBuild = { buildId, job, log, controller: new AbortController(), aborting: false, completed: false, done: Promise.resolve() };
    this.current = b;
    this.state = 'BUILDING';
    this.say(`Starting build ${buildId} (${managerTag})`);
    b.done = this.runBuild(b);
    return [BuilderStatus.BUILDING, buildId];
  }

  private async runBuild(b: CurrentBuild): Promise<void> {
    let result: ManagerResult;
    try {
      result = await this.runSteps(b);
    } catch (e) {
      b.log.write(`Builder failure: ${(e as Error).message}\n`);
      this.say(`build ${b.buildId} failed: ${(e as Error).stack ?? e}`);
      result = failedResult('BUILDERFAIL');
    }
    await b.job.teardown().catch((e: Error) => b.log.write(`Failed to remove the build directory: ${e.message}\n`));
    await this.complete(b, result);
  }

  private async runSteps(b: CurrentBuild): Promise<ManagerResult> {
    const signal = b.controller.signal;
    if (this.opts.prepCommand) {
      const prep = await runPrepCommand(this.opts.prepCommand, {
        log: b.log,
        signal,
        env: { BUILDBOX_BUILD_ID: b.buildId, BUILDBOX_CACHE_DIR: this.opts.cacheDir },
      });
      if (prep.aborted) return failedResult('ABORTED');
      if (prep.code !== 0) {
        b.log.write(`Prep command failed (exit ${prep.code})\n`);
        return failedResult('BUILDERFAIL');
      }
    }
    if (signal.aborted) return failedResult('ABORTED');
    return b.job.run(b.log, signal);
  }

  /** Records the outcome and moves to WAITING: the build environment is gone by now (§3.3). */
  private async complete(b: CurrentBuild, result: ManagerResult): Promise<void> {
    if (b.completed || this.current !== b) {
      // A build given up on (abort timeout, shutdown) that still stored outputs: nobody will clean them.
      for (const sha1 of result.createdEntries) if (!b.result?.createdEntries.includes(sha1)) await this.cache.remove(sha1).catch(() => {});
      return;
    }
    b.completed = true;
    if (b.job.sanitiseLogs) await b.log.scrub(join(this.opts.cacheDir, BUILDLOG_UNSANITIZED)).catch((e: Error) => this.say(`log scrub failed: ${e.message}`));
    clearTimeout(b.abortTimer);
    if (this.current !== b) return; // the server shut down meanwhile
    // After abort() the outcome is ABORTED whatever the processes said on their way out,
    // unless they could not be killed (BUILDERFAIL).
    if (b.aborting && result.category !== 'BUILDERFAIL') result = { ...failedResult('ABORTED'), createdEntries: result.createdEntries };
    b.result = result;
    this.state = 'WAITING';
    this.say(`Build ${b.buildId} finished: ${buildStatusName(result.category)}`);
  }

  // ------------------------------------------------------------------ abort / clean

  abort(): string {
    const b = this.current;
    if (this.state === 'ABORTING') {
      this.note('Builder already ABORTING when asked to abort');
      return BuilderStatus.ABORTING;
    }
    if (this.state !== 'BUILDING' || !b) throw new BuilderRefusal(`Builder is not BUILDING when asked to abort (it is ${this.state})`);
    this.state = 'ABORTING';
    b.aborting = true;
    this.note('Aborting the build: killing its processes');
    b.controller.abort();
    const timeout = this.opts.abortTimeoutMs ?? ABORT_TIMEOUT_MS;
    b.abortTimer = setTimeout(() => {
      if (b.completed) return;
      b.log.write('ABORTING: Failed to kill all processes.\n');
      this.say(`build ${b.buildId}: processes did not die within ${timeout} ms`);
      this.opts.backend.abandon?.();
      void b.job.teardown().catch(() => {});
      void this.complete(b, failedResult('BUILDERFAIL'));
    }, timeout);
    b.abortTimer.unref();
    return BuilderStatus.ABORTING;
  }

  async clean(): Promise<string> {
    if (this.cleaning) return this.cleaning; // a repeated clean() joins the one in progress
    if (this.state !== 'WAITING' || !this.current) throw new BuilderRefusal(`Builder is not WAITING when asked to clean (it is ${this.state})`);
    const b = this.current;
    this.cleaning = (async () => {
      try {
        for (const sha1 of new Set(b.result?.createdEntries ?? [])) await this.cache.remove(sha1);
        b.log.close();
        await rm(join(this.opts.cacheDir, BUILDLOG), { force: true });
        await rm(join(this.opts.cacheDir, BUILDLOG_UNSANITIZED), { force: true });
        this.current = null;
        this.state = 'IDLE';
        return BuilderStatus.IDLE;
      } finally {
        this.cleaning = null;
      }
    })();
    return this.cleaning;
  }

  proxyInfo(): never {
    if (!this.current) throw new BuilderRefusal('No build manager: proxy_info needs a build in progress');
    throw new BuilderRefusal('binarypackage builds use no builder proxy');
  }

  /** Stops everything: aborts the build's processes and any downloads. */
  async close(): Promise<void> {
    this.shutdown.abort();
    const b = this.current;
    if (b) {
      b.controller.abort();
      clearTimeout(b.abortTimer);
      // Give the build a moment to reap its processes, but never hang the shutdown.
      await Promise.race([b.done, new Promise((r) => setTimeout(r, 5000).unref())]);
      await b.job.teardown().catch(() => {});
      b.log.close();
      this.current = null;
      this.state = 'IDLE';
    }
  }
}

// The original's message, indentation included (clients test it with startswith / in).
function unknownSumInfo(kind: 'CHROOTSUM' | 'FILESUM', sum: string, info: string): string {
  return `${kind} -> ${sum}\n            ***** INFO *****\n            ${info}\n            ****************\n            `;
}

/** §2.4 tuples for pre-2013 managers. WAITING + ABORTED is reported as the legacy ABORTED state. */
function toLegacy(s: XmlRpcStruct): XmlRpcValue[] {
  switch (s.builder_status) {
    case BuilderStatus.IDLE:
      return [BuilderStatus.IDLE, ''];
    case BuilderStatus.BUILDING:
      return [BuilderStatus.BUILDING, s.build_id!, s.logtail!];
    case BuilderStatus.ABORTING:
      return [BuilderStatus.ABORTING, s.build_id!];
    default:
      if (s.build_status === buildStatusName('ABORTED')) return [BuilderStatus.ABORTED, s.build_id!];
      if ('filemap' in s) return [BuilderStatus.WAITING, s.build_status!, s.build_id!, s.filemap!, s.dependencies!];
      return [BuilderStatus.WAITING, s.build_status!, s.build_id!];
  }
}
