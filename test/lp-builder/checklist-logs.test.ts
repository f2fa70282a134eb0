// Spec §11 item 47 (log sanitising), the 2048-byte logtail, and item 48 (legacy tuple status).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binaryBytes, startTestBuilder, type TestBuilder } from './helpers';

let t: TestBuilder | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const SECRET_LINE = 'Get:1 http://buildd:secret@ftpmaster.internal focal InRelease';
const CLEAN_LINE = 'Get:1 http://ftpmaster.internal focal InRelease';

/** Polls status() until the logtail contains `text`; returns the tail. */
async function tailContaining(b: TestBuilder, text: string): Promise<string> {
  for (;;) {
    const s = await b.call('status');
    const tail = binaryBytes(s.logtail).toString('latin1');
    if (tail.includes(text)) return tail;
  }
}

describe('log sanitising', () => {
  it('§11.47 (fake) archive_private: credentials leave the logtail and, at the end, /filecache/buildlog', async () => {
    t = await startTestBuilder();
    await t.startBuild('some-id', { archive_private: true });
    await t.send(`LOG ${SECRET_LINE}`);
    await t.send('LOG after the credentials, with proxy socat ...,proxyauth=user:0123-abcd');
    const tail = await tailContaining(t, 'after the credentials');
    expect(tail).toContain(CLEAN_LINE);
    expect(tail).not.toContain('secret@');
    expect(tail).not.toContain('proxyauth');
    // The first line of the excerpt is dropped: it may be cut in the middle of a credential.
    expect(tail).not.toContain('scripted backend: building');
    await t.send('RESULT OK');
    await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    const log = await (await fetch(`${t.url}/filecache/buildlog`)).text();
    expect(log).toContain(CLEAN_LINE);
    expect(log).not.toContain('secret@');
    expect(log).not.toContain('proxyauth');
    // The original is kept aside on disk, never served.
    expect(readFileSync(join(t.cacheDir, 'buildlog.unsanitized'), 'utf8')).toContain(SECRET_LINE);
    expect((await fetch(`${t.url}/filecache/buildlog.unsanitized`)).status).toBe(400);
    await t.call('clean');
    expect(existsSync(join(t.cacheDir, 'buildlog.unsanitized'))).toBe(false);
  });

  it('a public build keeps its log as written (the first line is not dropped)', async () => {
    t = await startTestBuilder();
    await t.startBuild();
    await t.send('LOG plain line');
    const tail = await tailContaining(t, 'plain line');
    expect(tail).toBe(readFileSync(join(t.cacheDir, 'buildlog'), 'latin1'));
    expect(tail.startsWith('scripted backend: building foo_1.dsc')).toBe(true);
  });

  it('the logtail is the last 2048 bytes of the log', async () => {
    t = await startTestBuilder();
    await t.startBuild();
    for (let i = 0; i < 60; i++) await t.send(`LOG line ${String(i).padStart(3, '0')} ${'x'.repeat(60)}`);
    const tail = await tailContaining(t, 'line 059');
    const log = readFileSync(join(t.cacheDir, 'buildlog'));
    expect(log.length).toBeGreaterThan(2048);
    expect(Buffer.from(tail, 'latin1')).toEqual(log.subarray(log.length - 2048));
  });

  it('build_url, when given, is the first line of the log', async () => {
    t = await startTestBuilder();
    await t.startBuild('some-id', { build_url: 'https://launchpad.test/~x/+archive/ppa/+build/1' });
    await t.send('LOG next');
    await tailContaining(t, 'next');
    expect(readFileSync(join(t.cacheDir, 'buildlog'), 'utf8').split('\n')[0]).toBe('https://launchpad.test/~x/+archive/ppa/+build/1');
  });
});

describe('legacy status tuples (§2.4)', () => {
  it("§11.48 IDLE ['BuilderStatus.IDLE', ''], BUILDING [.., id, Binary], WAITING OK [.., 'BuildStatus.OK', id, {...}, '']", async () => {
    t = await startTestBuilder({ legacyStatus: true });
    expect(await t.call('status')).toEqual(['BuilderStatus.IDLE', '']);
    await t.startBuild();
    const building = await t.call('status');
    expect(building).toHaveLength(3);
    expect(building.slice(0, 2)).toEqual(['BuilderStatus.BUILDING', 'some-id']);
    expect(building[2]).toHaveProperty('$binary');
    await t.send('RESULT OK');
    let waiting: any;
    do waiting = await t.call('status');
    while (waiting[0] !== 'BuilderStatus.WAITING');
    expect(waiting).toHaveLength(5);
    expect(waiting.slice(0, 3)).toEqual(['BuilderStatus.WAITING', 'BuildStatus.OK', 'some-id']);
    expect(Object.keys(waiting[3])).toContain('foo_1_i386.changes');
    expect(waiting[4]).toBe('');
  });

  it('legacy: ABORTING [.., id], then the legacy ABORTED state, which clean() accepts; other failures are 3-tuples', async () => {
    t = await startTestBuilder({ legacyStatus: true });
    await t.startBuild();
    await t.call('abort');
    expect(await t.call('status')).toEqual(['BuilderStatus.ABORTING', 'some-id']);
    await t.send('go');
    let s: any;
    do s = await t.call('status');
    while (s[0] === 'BuilderStatus.ABORTING');
    expect(s).toEqual(['BuilderStatus.ABORTED', 'some-id']);
    expect(await t.call('clean')).toBe('BuilderStatus.IDLE');
    await t.startBuild('b2');
    await t.send('RESULT CHROOTFAIL');
    do s = await t.call('status');
    while (s[0] === 'BuilderStatus.BUILDING');
    expect(s).toEqual(['BuilderStatus.WAITING', 'BuildStatus.CHROOTFAIL', 'b2']);
  });
});
