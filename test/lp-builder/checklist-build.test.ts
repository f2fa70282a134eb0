// Spec §11 items 26-35: build() refusals leave the builder IDLE; starting a build.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { binaryBytes, BUILD_ARGS, PyFault, startTestBuilder, type TestBuilder } from './helpers';

let t: TestBuilder;
beforeEach(async () => {
  t = await startTestBuilder();
});
afterEach(async () => {
  await t.close();
});

const idle = { builder_status: 'BuilderStatus.IDLE' };

/** After a refusal: still IDLE, and no build log was created. */
async function expectUntouched(): Promise<void> {
  expect(await t.call('status')).toEqual(idle);
  expect(existsSync(join(t.cacheDir, 'buildlog'))).toBe(false);
}

async function faultCode(p: Promise<unknown>): Promise<number | null> {
  return p.then(
    () => null,
    (e: unknown) => (e instanceof PyFault ? e.code : -1),
  );
}

describe('build() refusals (state stays IDLE)', () => {
  it("§11.26 + §11.30 an unknown manager tag gives UNKNOWNBUILDER with \"<tag> not in ['...']\"", async () => {
    const r = await t.call('build', 'foo', 'nonexistentbuilder', 'sha1', {}, {});
    expect(r).toHaveLength(2);
    expect(r[0]).toBe('BuilderStatus.UNKNOWNBUILDER');
    expect(r[1]).toMatch(/^nonexistentbuilder not in \[/);
    expect(r[1]).toBe("nonexistentbuilder not in ['binarypackage']");
    await expectUntouched();
  });

  it('§11.27 + §11.30 a missing chroot gives UNKNOWNSUM "CHROOTSUM -> ..." containing "No URL"', async () => {
    const r = await t.call('build', 'b1', 'binarypackage', 'missing-chroot', {}, BUILD_ARGS);
    expect(r[0]).toBe('BuilderStatus.UNKNOWNSUM');
    expect(r[1].startsWith('CHROOTSUM -> missing-chroot')).toBe(true);
    expect(r[1]).toContain('***** INFO *****');
    expect(r[1]).toContain('No URL');
    await expectUntouched();
  });

  it('§11.28 + §11.30 a missing filemap entry gives UNKNOWNSUM "FILESUM -> ..."', async () => {
    t.putCache('fake-chroot', 'c');
    const r = await t.call('build', 'b1', 'binarypackage', 'fake-chroot', { 'foo_1.dsc': 'missing-dsc' }, BUILD_ARGS);
    expect(r[0]).toBe('BuilderStatus.UNKNOWNSUM');
    expect(r[1].startsWith('FILESUM -> missing-dsc')).toBe(true);
    await expectUntouched();
  });

  it("§11.29 + §11.30 buildid '' (or nil) is Fault 8002", async () => {
    t.putCache('fake-chroot', 'c');
    t.putCache('thing', 'd');
    expect(await faultCode(t.call('build', '', 'binarypackage', 'fake-chroot', { 'foo_1.dsc': 'thing' }, BUILD_ARGS))).toBe(8002);
    expect(await faultCode(t.call('build', null, 'binarypackage', 'fake-chroot', { 'foo_1.dsc': 'thing' }, BUILD_ARGS))).toBe(8002);
    await expectUntouched();
  });

  it('§11.30 binarypackage without suite / series / ogrecomponent, or without exactly one .dsc, faults and stays IDLE', async () => {
    t.putCache('fake-chroot', 'c');
    t.putCache('thing', 'd');
    const bad: [Record<string, string>, Record<string, unknown>][] = [
      [{ 'foo_1.dsc': 'thing' }, { series: 'precise', ogrecomponent: 'main' }],
      [{ 'foo_1.dsc': 'thing' }, { suite: 'precise', ogrecomponent: 'main' }],
      [{ 'foo_1.dsc': 'thing' }, { series: 'precise', suite: 'precise' }],
      [{ 'foo_1.tar.gz': 'thing' }, BUILD_ARGS],
      [{ 'foo_1.dsc': 'thing', 'bar_1.dsc': 'thing' }, BUILD_ARGS],
      [{ '../foo_1.dsc': 'thing' }, BUILD_ARGS],
      [{ 'foo_1.dsc': 'thing' }, { ...BUILD_ARGS, arch_indep: 'yes' }],
      [{ 'foo_1.dsc': 'thing' }, { ...BUILD_ARGS, archives: 'deb http://x y main' }],
      [{ 'foo_1.dsc': 'thing' }, { ...BUILD_ARGS, image_type: 'lxd' }],
      [{ 'foo_1.dsc': 'thing' }, { ...BUILD_ARGS, suite: '../etc' }],
    ];
    for (const [filemap, args] of bad) {
      expect(await faultCode(t.call('build', 'b1', 'binarypackage', 'fake-chroot', filemap, args as never))).toBe(8002);
      await expectUntouched();
    }
    // An unsafe chroot name is refused as well, not looked up.
    expect(await faultCode(t.call('build', 'b1', 'binarypackage', '../fake-chroot', { 'foo_1.dsc': 'thing' }, BUILD_ARGS))).toBe(8002);
    await expectUntouched();
  });
});

describe('starting a build', () => {
  it("§11.31 build('some-id', 'binarypackage', 'fake-chroot', {'foo_1.dsc': 'thing'}, args) == ['BuilderStatus.BUILDING', 'some-id']", async () => {
    expect(await t.startBuild()).toEqual(['BuilderStatus.BUILDING', 'some-id']);
  });

  it('§11.32 status() right after: BUILDING, build_id, logtail a Binary of at most 2048 bytes', async () => {
    await t.startBuild();
    const s = await t.call('status');
    expect(Object.keys(s).sort()).toEqual(['build_id', 'builder_status', 'logtail']);
    expect(s.builder_status).toBe('BuilderStatus.BUILDING');
    expect(s.build_id).toBe('some-id');
    expect(s.logtail).toHaveProperty('$binary'); // an xmlrpc.client.Binary on the Python side
    expect(binaryBytes(s.logtail).length).toBeLessThanOrEqual(2048);
  });

  it('§11.33 GET /filecache/buildlog is 200 while BUILDING', async () => {
    await t.startBuild();
    await t.send('LOG hello from the build');
    await t.waitStatus({ builder_status: 'BuilderStatus.BUILDING' });
    const res = await fetch(`${t.url}/filecache/buildlog`);
    expect(res.status).toBe(200);
  });

  it('§11.34 a second build() while BUILDING is Fault 8002 and changes neither build_id nor the log', async () => {
    await t.startBuild();
    await t.send('LOG first build output');
    // Poll until the line is in the log, so the comparison below is meaningful.
    for (;;) {
      const s = await t.call('status');
      if (binaryBytes(s.logtail).toString().includes('first build output')) break;
    }
    const before = await t.call('status');
    expect(await faultCode(t.call('build', 'other-id', 'binarypackage', 'fake-chroot', { 'foo_1.dsc': 'thing' }, BUILD_ARGS))).toBe(8002);
    const after = await t.call('status');
    expect(after.build_id).toBe('some-id');
    expect(after.logtail).toEqual(before.logtail);
  });

  it('§11.35 clean() while BUILDING is Fault 8002', async () => {
    await t.startBuild();
    expect(await faultCode(t.call('clean'))).toBe(8002);
    expect((await t.call('status')).builder_status).toBe('BuilderStatus.BUILDING');
  });

  it('proxy_info() is Fault 8002 for binarypackage builds too (it has no proxy)', async () => {
    await t.startBuild();
    expect(await faultCode(t.call('proxy_info'))).toBe(8002);
  });
});
