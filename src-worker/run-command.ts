// The one way the worker runs a command that touches the system. Every command:
//  * is announced in the build log as `RUN: <cmd> <args>` (credentials scrubbed, launchpad-buildd §3.4/§3.6),
//  * has its stdout and stderr copied into the log line by line (so the two never interleave mid-line),
//  * runs in its own process group, so that aborting kills the whole tree it started:
//    SIGINT first (sbuild cleans up on SIGINT, pyBit §5.7), then SIGTERM, then SIGKILL,
//    each after a bounded wait; and leftovers of a command that exited normally are reaped.
//    The waits are for processes that react to the signal (sbuild cleans up on SIGINT). When
//    nothing left in the group can react — every process ignores the signal or only waits for
//    its children, and none uses any CPU — the next signal follows after a short look instead:
//    a build step that ignores SIGINT and SIGTERM must not hold up a cancel for the whole wait.
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { BuildLog } from './backends/backend';
import { groupAlive, groupExists, groupMembers, hasProcTable, ProcessTracker, stuckFingerprint, type ProcessEntry } from './process-table';
import { scrubCredentials } from './scrub';
import { withDefaults } from '@shared/with-defaults';

export interface KillTimings {
  /** How long the group gets to exit after SIGINT before SIGTERM. */
  afterInterruptMs: number;
  /** How long after SIGTERM before SIGKILL. */
  afterTerminateMs: number;
  /** How long to wait for the kernel to finish SIGKILLed processes before giving up. */
  afterKillMs: number;
  /**
   * How long a group in which nothing can react to SIGINT or SIGTERM (see stuckFingerprint)
   * must stay unchanged before the next signal is sent without waiting out the rest.
   */
  stuckMs: number;
}

export const DEFAULT_KILL_TIMINGS: KillTimings = { afterInterruptMs: 30_000, afterTerminateMs: 10_000, afterKillMs: 5_000, stuckMs: 500 };

export interface RunOptions {
  log: BuildLog;
  cwd?: string;
  /** Added to (or, when undefined, removed from) the worker's environment. */
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Only log the command; run nothing and report success. */
  dryRun?: boolean;
  /** Fed to stdin; otherwise stdin is /dev/null (builds must not wait for input). */
  input?: string | Buffer;
  /** How much of the combined output to keep in `RunResult.output` (default 1 MiB of text). */
  captureChars?: number;
  kill?: Partial<KillTimings>;
  /** Kill processes a command left behind in its group after it exited (default true). */
  reapLeftovers?: boolean;
  /** Called with the pid, which is also the process group id. */
  onSpawn?: (pid: number) => void;
}

export interface RunResult {
  /** Exit code; 127/126 when the command could not be started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The AbortSignal fired while (or before) the command ran. */
  aborted: boolean;
  dryRun: boolean;
  /** Why the command could not be started (missing binary, missing cwd). */
  spawnError?: string;
  /** The tail of stdout+stderr, as written to the log. */
  output: string;
  /** Exit code 0 and not aborted. */
  ok: boolean;
}

const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Shell-quotes a command line for display (launchpad-buildd logs "shell-quoted args"). */
export function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (SAFE_ARG.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() >= until) return false;
    await delay(50);
  }
  return true;
}

/** Collects output into whole lines before writing them, flushing a partial line after a short pause. */
class LineWriter {
  private pending = '';
  private timer: NodeJS.Timeout | null = null;
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly emit: (text: string) => void) {}

  push(buf: Buffer): void {
    const all = this.pending + this.decoder.write(buf);
    const nl = all.lastIndexOf('\n');
    if (nl >= 0) {
      this.emit(all.slice(0, nl + 1));
      this.pending = all.slice(nl + 1);
    } else {
      this.pending = all;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Progress output without newlines must still reach the log promptly.
    if (this.pending.length > 64 * 1024) this.flush();
    else if (this.pending) this.timer = setTimeout(() => this.flush(), 200);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    if (rest) this.emit(rest);
  }
}

function mergedEnv(extra: RunOptions['env']): NodeJS.ProcessEnv {
  // Messages we parse (dpkg-checkbuilddeps, apt, sbuild) must be in English.
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C.UTF-8' };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export async function runCommand(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const log = { write: (t: string) => opts.log.write(scrubCredentials(t)) };
  const timings = withDefaults(DEFAULT_KILL_TIMINGS, opts.kill);
  const captureChars = opts.captureChars ?? 1024 * 1024;
  const base = { signal: null, dryRun: false, output: '' } as const;

  log.write(`[${new Date().toISOString()}]\nRUN: ${formatCommand(cmd, args)}\n`);
  if (opts.dryRun) {
    log.write('(dry run: not executed)\n');
    return { ...base, code: 0, aborted: false, dryRun: true, ok: true };
  }
  if (opts.signal?.aborted) {
    log.write('(not started: the build was aborted)\n');
    return { ...base, code: null, aborted: true, ok: false };
  }

  let output = '';
  const capture = (text: string) => {
    output += text;
    if (output.length > captureChars * 2) output = output.slice(-captureChars);
  };
  const emit = (text: string) => {
    log.write(text);
    capture(text);
  };

  // detached: the child calls setsid(), so its pid is also the id of a new process group
  // that every descendant inherits unless it deliberately leaves it.
  const child = spawn(cmd, [...args], {
    cwd: opts.cwd,
    env: mergedEnv(opts.env),
    detached: true,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const out = new LineWriter(emit);
  const err = new LineWriter(emit);
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  if (opts.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {}); // a command that does not read its input is not an error
    child.stdin.end(opts.input);
  }

  let leaderDone = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      leaderDone = true;
      resolve({ code, signal });
    }),
  );
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const failed = new Promise<Error>((resolve) => child.once('error', resolve));

  const pgid = child.pid;
  if (pgid !== undefined) opts.onSpawn?.(pgid);
  // Follows processes that leave the group too (sbuild setsid()s the build), where /proc exists.
  const tracker = pgid !== undefined && hasProcTable() ? new ProcessTracker(pgid) : null;
  const remaining = (): ProcessEntry[] => {
    if (pgid === undefined) return [];
    if (!tracker) return groupMembers(pgid);
    const r = tracker.refresh();
    return [...r.group, ...r.escaped];
  };
  const groupGone = () => {
    if (!leaderDone) return false;
    if (pgid === undefined) return true;
    if (!tracker) return !groupAlive(pgid);
    // The common case, after every command that ran normally: an empty group and nothing
    // followed outside it, known from one system call without walking /proc.
    if (tracker.followsNothing() && !groupExists(pgid)) return true;
    return remaining().length === 0;
  };

  /**
   * Sends each signal to the whole group until nothing of it is left. SIGINT goes to the group
   * only, so that the command can clean up after itself (sbuild stops its build and removes its
   * chroot); SIGTERM and SIGKILL also go to every process it started that left the group. The
   * wait after SIGINT or SIGTERM ends early when what is left is stuck: the same processes,
   * none able to react to the signal and none using CPU, for `stuckMs`.
   */
  const escalate = async (steps: Array<[NodeJS.Signals, number]>): Promise<void> => {
    if (pgid === undefined) return;
    for (const [sig, wait] of steps) {
      if (groupGone()) return;
      try {
        process.kill(-pgid, sig);
        log.write(`Sent ${sig} to process group ${pgid}\n`);
      } catch {
        /* ESRCH: the group emptied in between */
      }
      if (sig !== 'SIGINT' && tracker) {
        const escaped = tracker.refresh().escaped;
        for (const p of escaped) {
          try {
            process.kill(p.pid, sig);
          } catch {
            /* gone in between */
          }
        }
        if (escaped.length > 0) log.write(`Sent ${sig} to processes that left process group ${pgid}: ${escaped.map((p) => `${p.pid} (${p.cmdline})`).join(', ')}\n`);
      }
      let seen: { print: string; since: number } | null = null;
      const stuck = (left: ProcessEntry[]): boolean => {
        if (sig === 'SIGKILL') return false;
        const print = stuckFingerprint(left, sig);
        if (print === null) seen = null;
        else if (seen?.print !== print) seen = { print, since: Date.now() };
        return seen !== null && Date.now() - seen.since >= timings.stuckMs;
      };
      let isStuck = false;
      // One look at /proc a poll serves both questions: is anything left, and can it react?
      const poll = (): boolean => {
        if (!tracker) return groupGone();
        const left = remaining();
        if (leaderDone && left.length === 0) return true;
        return (isStuck = stuck(left));
      };
      await waitFor(poll, wait);
      if (groupGone()) return;
      if (isStuck) log.write(`Nothing left in process group ${pgid} reacts to ${sig} (it is ignored or only waited for)\n`);
    }
    const left = hasProcTable() ? remaining().map((p) => `${p.pid} (${p.cmdline})`) : ['unknown'];
    log.write(`WARNING: processes of group ${pgid} survived SIGKILL: ${left.join(', ')}\n`);
  };

  let aborted = false;
  let stopping: Promise<void> | null = null;
  const onAbort = () => {
    aborted = true;
    // While the command still runs its tree is whole: note every process in it now, before
    // the signals make parents exit and orphan what they started.
    tracker?.refresh();
    log.write(`Aborting: stopping process group ${pgid ?? '?'}\n`);
    stopping ??= escalate([
      ['SIGINT', timings.afterInterruptMs],
      ['SIGTERM', timings.afterTerminateMs],
      ['SIGKILL', timings.afterKillMs],
    ]);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const first = await Promise.race([exited, failed.then((e) => e)]);
    if (first instanceof Error) {
      const e = first as NodeJS.ErrnoException;
      const code = e.code === 'ENOENT' ? 127 : 126;
      log.write(`ERROR: could not run ${cmd}: ${e.message}\n`);
      return { ...base, code, aborted, ok: false, spawnError: e.message, output };
    }
    if (!stopping && (opts.reapLeftovers ?? true) && pgid !== undefined && !groupGone()) {
      log.write(`${cmd} exited but left processes in its group; terminating them\n`);
      await escalate([
        ['SIGTERM', timings.afterTerminateMs],
        ['SIGKILL', timings.afterKillMs],
      ]);
    }
    // An abort may have arrived at any point up to here: let its escalation finish.
    if (stopping) await stopping;
    // A process that escaped the group (setsid) may still hold the pipes: don't wait for it forever.
    await Promise.race([closed, delay(1000)]);
    child.stdout?.destroy();
    child.stderr?.destroy();
    out.flush();
    err.flush();
    const { code, signal } = first;
    if (signal) log.write(`${cmd} killed by ${signal}\n`);
    else if (code !== 0) log.write(`${cmd} exited with code ${code}\n`);
    return { code, signal, aborted, dryRun: false, output, ok: code === 0 && !aborted };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
