import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBuildLog } from '../../src-worker/build-log';
import { groupMembers, listProcesses } from '../../src-worker/process-table';
import { formatCommand, runCommand } from '../../src-worker/run-command';

const fast = { afterInterruptMs: 300, afterTerminateMs: 300, afterKillMs: 10_000 };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A sleep duration nobody else uses, so its cmdline identifies our processes. */
function marker(): string {
  return `${900 + Math.floor(Math.random() * 99)}.${Date.now() % 100000}${Math.floor(Math.random() * 1000)}`;
}
const liveWith = (m: string) => listProcesses().filter((p) => p.cmdline.includes(m) && p.state !== 'Z');

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 50));
}

describe('runCommand', () => {
  it('logs the command and its output and returns the exit code', async () => {
    const log = new MemoryBuildLog();
    const r = await runCommand('sh', ['-c', 'echo out; echo err >&2; exit 3'], { log });
    expect(r.code).toBe(3);
    expect(r.ok).toBe(false);
    expect(log.text).toContain("RUN: sh -c 'echo out; echo err >&2; exit 3'\n");
    expect(log.text).toContain('out\n');
    expect(log.text).toContain('err\n');
    expect(r.output).toContain('out\n');
  });

  it('scrubs credentials from the command line and the output', async () => {
    const log = new MemoryBuildLog(false); // the log itself does not scrub: run-command must
    await runCommand('echo', ['https://buildd:secret@ftpmaster.internal/x'], { log });
    expect(log.text).not.toContain('secret');
    expect(log.text).toContain('RUN: echo https://ftpmaster.internal/x');
  });

  it('only logs in dry-run mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bb-run-'));
    dirs.push(dir);
    const log = new MemoryBuildLog();
    const file = join(dir, 'touched');
    const r = await runCommand('touch', [file], { log, dryRun: true });
    expect(r).toMatchObject({ ok: true, dryRun: true, code: 0 });
    expect(existsSync(file)).toBe(false);
    expect(log.text).toContain(`RUN: touch ${file}`);
  });

  it('reports a missing command as a spawn error', async () => {
    const log = new MemoryBuildLog();
    const r = await runCommand('buildbox-no-such-command', [], { log });
    expect(r.code).toBe(127);
    expect(r.spawnError).toBeTruthy();
    expect(log.text).toContain('could not run buildbox-no-such-command');
  });

  it('does not start when already aborted', async () => {
    const log = new MemoryBuildLog();
    const r = await runCommand('true', [], { log, signal: AbortSignal.abort() });
    expect(r).toMatchObject({ aborted: true, ok: false, code: null });
  });

  it('kills the whole process tree on abort, even children that ignore SIGINT and SIGTERM', async () => {
    const m1 = marker();
    const m2 = marker();
    const log = new MemoryBuildLog();
    const ac = new AbortController();
    let pgid = 0;
    const script = `trap '' INT; (trap '' INT TERM; exec sleep ${m1}) & sleep ${m2} & echo started; wait`;
    const running = runCommand('sh', ['-c', script], {
      log,
      signal: ac.signal,
      kill: fast,
      onSpawn: (pid) => (pgid = pid),
    });
    await until(() => liveWith(m1).length > 0 && liveWith(m2).length > 0);
    expect(liveWith(m1)[0].pgid).toBe(pgid);
    ac.abort();
    const r = await running;
    expect(r.aborted).toBe(true);
    expect(r.ok).toBe(false);
    expect(groupMembers(pgid)).toEqual([]);
    expect(liveWith(m1)).toEqual([]);
    expect(liveWith(m2)).toEqual([]);
    expect(log.text).toContain('Sent SIGINT');
    expect(log.text).toContain('Sent SIGKILL');
  });

  it('also stops processes that left the group with setsid, as sbuild does with the build', async () => {
    // The leader exits on SIGINT at once, like sbuild handing its cleanup to the kernel: the
    // escaped sleeper, which ignores SIGINT and SIGTERM, is left to the escalation.
    const m = marker();
    const log = new MemoryBuildLog();
    const ac = new AbortController();
    let pgid = 0;
    const script = `setsid sh -c "trap '' INT TERM; exec sleep ${m}" & wait`;
    const running = runCommand('sh', ['-c', script], { log, signal: ac.signal, kill: fast, onSpawn: (pid) => (pgid = pid) });
    const sleeper = () => liveWith(m).filter((p) => p.cmdline.startsWith('sleep '));
    await until(() => sleeper().length > 0);
    expect(sleeper()[0].pgid).not.toBe(pgid);
    ac.abort();
    const r = await running;
    expect(r.aborted).toBe(true);
    expect(liveWith(m), log.text).toEqual([]);
    expect(log.text).toMatch(/Sent SIGKILL to processes that left process group \d+: \d+ \(sleep /);
  });

  it('stops at SIGINT when the tree obeys it', async () => {
    const m = marker();
    const log = new MemoryBuildLog();
    const ac = new AbortController();
    const running = runCommand('sh', ['-c', `sleep ${m}`], { log, signal: ac.signal, kill: { ...fast, afterInterruptMs: 30_000 } });
    // Wait for sleep itself: a signal that reaches sh while it execs sleep can be lost,
    // which the SIGTERM/SIGKILL escalation covers but this test is not about.
    await until(() => liveWith(m).some((p) => p.cmdline.startsWith('sleep ')));
    ac.abort();
    const r = await running;
    expect(r.aborted).toBe(true);
    expect(liveWith(m)).toEqual([]);
    expect(log.text).toContain('Sent SIGINT');
    expect(log.text).not.toContain('Sent SIGTERM');
  });

  it('reaps processes a command left behind after exiting normally', async () => {
    const m = marker();
    const log = new MemoryBuildLog();
    let pgid = 0;
    const r = await runCommand('sh', ['-c', `sleep ${m} > /dev/null 2>&1 & exit 0`], {
      log,
      kill: fast,
      onSpawn: (pid) => (pgid = pid),
    });
    expect(r.code).toBe(0);
    expect(groupMembers(pgid)).toEqual([]);
    expect(liveWith(m)).toEqual([]);
    expect(log.text).toContain('left processes in its group');
  });

  it('quotes arguments for display', () => {
    expect(formatCommand('dpkg-buildpackage', ['-us', '-uc'])).toBe('dpkg-buildpackage -us -uc');
    expect(formatCommand('sh', ['-c', "it's"])).toBe(`sh -c 'it'\\''s'`);
  });
});
