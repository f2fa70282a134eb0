// Spec §11 items 36-39 (abort), the 120 s abort timeout (BUILDERFAIL), and that abort kills
// everything the build started (the prep command's whole process tree).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processAlive, startTestBuilder, type TestBuilder } from './helpers';

let t: TestBuilder | null = null;
const cleanups: (() => void)[] = [];
const onCleanup = (f: () => void) => cleanups.push(f);
afterEach(async () => {
  await t?.close();
  t = null;
  for (const f of cleanups.splice(0)) f();
});

describe('abort', () => {
  /** A build in progress, aborted once. */
  async function abortedBuild(): Promise<TestBuilder> {
    t = await startTestBuilder();
    await t.startBuild();
    await t.send('LOG some output');
    expect(await t.call('abort')).toBe('BuilderStatus.ABORTING');
    return t;
  }

  it("§11.36 abort() while BUILDING returns 'BuilderStatus.ABORTING'", async () => {
    t = await startTestBuilder();
    await t.startBuild();
    expect(await t.call('abort')).toBe('BuilderStatus.ABORTING');
  });

  it('§11.37 a second abort() while ABORTING returns ABORTING (no fault)', async () => {
    const b = await abortedBuild();
    expect(await b.call('abort')).toBe('BuilderStatus.ABORTING');
  });

  it('§11.38 while ABORTING, status() has builder_status ABORTING, the build_id, and no logtail', async () => {
    const b = await abortedBuild();
    // The scripted build stays ABORTING until the next FIFO line.
    expect(await b.call('status')).toEqual({ builder_status: 'BuilderStatus.ABORTING', build_id: 'some-id' });
  });

  it('§11.39 once the processes ended: WAITING with BuildStatus.ABORTED and no filemap/dependencies', async () => {
    const b = await abortedBuild();
    await b.send('anything');
    const s = await b.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(s).toEqual({ builder_status: 'BuilderStatus.WAITING', build_status: 'BuildStatus.ABORTED', build_id: 'some-id' });
    expect(await b.call('clean')).toBe('BuilderStatus.IDLE');
  });

  it('§11.39 (timeout) processes that will not die within the abort timeout give BUILDERFAIL', async () => {
    // The scripted build never ends without a FIFO line: it stands in for unkillable processes.
    t = await startTestBuilder({ abortTimeoutMs: 300 });
    await t.startBuild();
    expect(await t.call('abort')).toBe('BuilderStatus.ABORTING');
    const s = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(s).toEqual({ builder_status: 'BuilderStatus.WAITING', build_status: 'BuildStatus.BUILDERFAIL', build_id: 'some-id' });
    expect(await (await fetch(`${t.url}/filecache/buildlog`)).text()).toContain('ABORTING: Failed to kill all processes.');
    // The builder is usable again: clean, and a new build. The given-up build let go of the FIFO
    // when the builder gave up on it, so a line sent before the new build starts waits for it.
    expect(await t.call('clean')).toBe('BuilderStatus.IDLE');
    await t.send('RESULT OK');
    expect(await t.startBuild('next-id')).toEqual(['BuilderStatus.BUILDING', 'next-id']);
    expect((await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' })).build_status).toBe('BuildStatus.OK');
  });

  it('abort kills the whole process tree the build started (prep command and its children)', async () => {
    // A prep command that starts a background child and then waits for a file that never comes:
    // the §8.2 "builder-prep blocks" trick.
    const script = 'sleep 1000 & echo $! > "$PIDDIR/child.pid"; echo $$ > "$PIDDIR/prep.pid"; while [ ! -e "$PIDDIR/release" ]; do sleep 0.05; done';
    const pidDir = mkdtempSync(join(tmpdir(), 'lp-prep-pids-'));
    onCleanup(() => rmSync(pidDir, { recursive: true, force: true }));
    t = await startTestBuilder({ prepCommand: `PIDDIR='${pidDir}'; ${script}` });
    await t.startBuild();
    // Wait until both pids are written.
    let prep = 0,
      child = 0;
    while (!prep || !child) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        prep = Number(readFileSync(join(pidDir, 'prep.pid'), 'utf8'));
        child = Number(readFileSync(join(pidDir, 'child.pid'), 'utf8'));
      } catch {
        /* not yet */
      }
    }
    expect(processAlive(prep) && processAlive(child)).toBe(true);
    expect((await t.call('status')).builder_status).toBe('BuilderStatus.BUILDING');
    expect(await t.call('abort')).toBe('BuilderStatus.ABORTING');
    const s = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(s.build_status).toBe('BuildStatus.ABORTED');
    expect(processAlive(prep)).toBe(false);
    expect(processAlive(child)).toBe(false);
    const log = await (await fetch(`${t.url}/filecache/buildlog`)).text();
    expect(log).toContain('RUN: /bin/sh -c');
  });

  it('prepCommand holds the build in BUILDING until released; a failing prep command is BUILDERFAIL', async () => {
    const releaseDir = mkdtempSync(join(tmpdir(), 'lp-prep-release-'));
    onCleanup(() => rmSync(releaseDir, { recursive: true, force: true }));
    const release = join(releaseDir, 'release');
    t = await startTestBuilder({ prepCommand: `while [ ! -e '${release}' ]; do sleep 0.05; done; echo prep done` });
    await t.startBuild();
    await t.send('RESULT OK'); // queued: the backend only runs after the prep command
    expect((await t.call('status')).builder_status).toBe('BuilderStatus.BUILDING');
    writeFileSync(release, '');
    const s = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(s.build_status).toBe('BuildStatus.OK');
    expect(await (await fetch(`${t.url}/filecache/buildlog`)).text()).toContain('prep done');
    await t.close();

    t = await startTestBuilder({ prepCommand: 'echo broken >&2; exit 3' });
    await t.startBuild();
    const f = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(f).toEqual({ builder_status: 'BuilderStatus.WAITING', build_status: 'BuildStatus.BUILDERFAIL', build_id: 'some-id' });
  });
});
