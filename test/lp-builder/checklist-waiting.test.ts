// Spec §11 items 40-46: WAITING results from the scripted backend, and clean().
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PyFault, sha1hex, startTestBuilder, type TestBuilder } from './helpers';

let t: TestBuilder | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

/** Runs one build to WAITING with the given scripted RESULT line; returns the status. */
async function finishedBuild(result: string): Promise<any> {
  t = await startTestBuilder();
  await t.startBuild();
  await t.send(result);
  return t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
}

async function fetchBytes(url: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

describe('WAITING', () => {
  it('§11.40 (fake) OK: dependencies "", filemap holds the .changes, every entry fetches with its SHA-1', async () => {
    const s = await finishedBuild('RESULT OK');
    expect(Object.keys(s).sort()).toEqual(['build_id', 'build_status', 'builder_status', 'dependencies', 'filemap']);
    expect(s.build_status).toBe('BuildStatus.OK');
    expect(s.dependencies).toBe('');
    expect(Object.keys(s.filemap)).toContain('foo_1_i386.changes');
    for (const sha1 of Object.values(s.filemap) as string[]) {
      const r = await fetchBytes(`${t!.url}/filecache/${sha1}`);
      expect(r.status).toBe(200);
      expect(sha1hex(r.body)).toBe(sha1);
    }
    // The .changes lists the other outputs, and they are in the filemap too.
    const changes = (await fetchBytes(`${t!.url}/filecache/${s.filemap['foo_1_i386.changes']}`)).body.toString();
    expect(changes).toContain('Source: foo');
    expect(changes).toContain('Version: 1.0-1');
    for (const name of Object.keys(s.filemap)) if (name !== 'foo_1_i386.changes') expect(changes).toContain(name);
  });

  it('the scripted .deb is a real binary package', async () => {
    const s = await finishedBuild('RESULT OK');
    const deb = Object.keys(s.filemap).find((n) => n.endsWith('.deb'))!;
    expect(deb).toBe('foo_1.0-1_i386.deb');
    const dir = mkdtempSync(join(tmpdir(), 'lp-deb-'));
    try {
      writeFileSync(join(dir, deb), (await fetchBytes(`${t!.url}/filecache/${s.filemap[deb]}`)).body);
      const info = execFileSync('dpkg-deb', ['--field', join(dir, deb), 'Package', 'Version', 'Architecture'], { encoding: 'utf8' });
      expect(info).toContain('Package: foo');
      expect(info).toContain('Version: 1.0-1');
      expect(info).toContain('Architecture: i386');
      expect(execFileSync('dpkg-deb', ['--contents', join(dir, deb)], { encoding: 'utf8' })).toContain('./usr/share/doc/foo/README');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("§11.41 (fake) DEPFAIL: dependencies is the relation, filemap present", async () => {
    const s = await finishedBuild('RESULT DEPFAIL ebadver (< 2.0)');
    expect(s.build_status).toBe('BuildStatus.DEPFAIL');
    expect(s.dependencies).toBe('ebadver (< 2.0)');
    expect(s.filemap).toEqual({});
  });

  it('a DEPFAIL without a relation cannot be retried usefully and is reported as PACKAGEFAIL', async () => {
    const s = await finishedBuild('RESULT DEPFAIL');
    expect(s.build_status).toBe('BuildStatus.PACKAGEFAIL');
  });

  it('§11.42 (fake) PACKAGEFAIL: filemap and dependencies ("") present', async () => {
    const s = await finishedBuild('RESULT PACKAGEFAIL');
    expect(s).toEqual({ builder_status: 'BuilderStatus.WAITING', build_status: 'BuildStatus.PACKAGEFAIL', build_id: 'some-id', filemap: {}, dependencies: '' });
  });

  for (const result of ['CHROOTFAIL', 'BUILDERFAIL', 'GIVENBACK']) {
    it(`§11.43 (fake) ${result}: no filemap and no dependencies keys`, async () => {
      const s = await finishedBuild(`RESULT ${result}`);
      expect(s).toEqual({ builder_status: 'BuilderStatus.WAITING', build_status: `BuildStatus.${result}`, build_id: 'some-id' });
    });
  }

  it('§11.44 abort() in WAITING is Fault 8002', async () => {
    await finishedBuild('RESULT OK');
    await expect(t!.call('abort')).rejects.toSatisfy((e: unknown) => e instanceof PyFault && e.code === 8002);
  });
});

describe('clean', () => {
  it('§11.45 clean() returns IDLE; build_id, buildlog and outputs are gone, inputs remain', async () => {
    const s = await finishedBuild('RESULT OK');
    expect((await fetch(`${t!.url}/filecache/buildlog`)).status).toBe(200);
    expect(await t!.call('clean')).toBe('BuilderStatus.IDLE');
    const after = await t!.call('status');
    expect(after.builder_status).toBe('BuilderStatus.IDLE');
    expect(after).not.toHaveProperty('build_id');
    expect((await fetch(`${t!.url}/filecache/buildlog`)).status).toBe(404);
    for (const sha1 of Object.values(s.filemap) as string[]) expect((await fetch(`${t!.url}/filecache/${sha1}`)).status).toBe(404);
    expect(await t!.call('ensurepresent', 'fake-chroot', null, null, null)).toEqual([true, 'No URL']);
    expect(await t!.call('ensurepresent', 'thing', null, null, null)).toEqual([true, 'No URL']);
    expect(existsSync(join(t!.cacheDir, 'buildlog'))).toBe(false);
    // The build's work directory was removed before WAITING.
    expect(execFileSync('ls', ['-A', join(t!.dir, 'work')], { encoding: 'utf8' })).toBe('');
  });

  it('§11.46 after clean() a new build() is accepted (IDLE -> BUILDING again)', async () => {
    await finishedBuild('RESULT PACKAGEFAIL');
    await t!.call('clean');
    expect(await t!.startBuild('second-id')).toEqual(['BuilderStatus.BUILDING', 'second-id']);
    const s = await t!.call('status');
    expect(s.builder_status).toBe('BuilderStatus.BUILDING');
    expect(s.build_id).toBe('second-id');
    await t!.send('RESULT OK');
    expect((await t!.waitStatus({ builder_status: 'BuilderStatus.WAITING' })).build_id).toBe('second-id');
  });

  it('clean() of outputs identical to an input keeps the input (only entries the build created go)', async () => {
    t = await startTestBuilder();
    await t.startBuild();
    await t.send('RESULT OK');
    const s = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    await t.call('clean');
    // Second build: its outputs now exist as pre-existing cache files (put back by hand).
    const deb = (Object.entries(s.filemap) as [string, string][]).find(([n]) => n.endsWith('.deb'))!;
    t.putCache(deb[1], 'placeholder, pretend input');
    await t.startBuild('again');
    await t.send('RESULT OK');
    await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    await t.call('clean');
    expect(await t.call('ensurepresent', deb[1], null, null, null)).toEqual([true, 'No URL']);
  });
});
