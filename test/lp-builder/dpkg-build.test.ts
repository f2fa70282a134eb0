// Real builds through the launchpad-buildd face with the worker's dpkg backend: the source is
// fetched with ensurepresent from a local "librarian", built with dpkg-buildpackage, and the
// results collected from /filecache exactly as Launchpad's buildd-manager would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSourcePackage, UNSATISFIABLE_DEPENDENCY, type PackageSpec } from '../fixtures/make-package';
import { HOST_ARCH, processesMatching } from '../worker/helpers';
import { BUILD_ARGS, pyCalls, sha1hex, startFileServer, startTestBuilder, unwrap, type TestBuilder } from './helpers';

let t: TestBuilder | null = null;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await t?.close();
  t = null;
  for (const c of cleanups.splice(0)) await c();
});

/** Makes a source package, serves it, and has the builder ensurepresent every file. */
async function stagedSource(spec: PackageSpec): Promise<{ filemap: Record<string, string>; marker: string; name: string; version: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lp-dpkg-src-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const src = makeSourcePackage(dir, spec);
  const served: Record<string, Buffer> = {};
  const filemap: Record<string, string> = {};
  for (const f of src.files) {
    const data = readFileSync(join(dir, f));
    served[`/${f}`] = data;
    filemap[f] = sha1hex(data);
  }
  const librarian = await startFileServer(served);
  cleanups.push(librarian.close);
  const results = await pyCalls(
    Object.entries(filemap).map(([f, sum]) => ({ url: t!.rpcUrl, method: 'ensurepresent', args: [sum, `${librarian.url}/${f}`, '', ''] })),
  );
  for (const r of results) expect(unwrap(r)).toEqual([true, 'Download']);
  // dpkg builds on the host and ignores the chroot, but build() still requires one to be cached.
  t!.putCache('fake-chroot', 'unused by host builds');
  return { filemap, marker: src.marker, name: src.name, version: src.version };
}

const kill = { afterInterruptMs: 500, afterTerminateMs: 500 };

describe('binarypackage builds with the dpkg backend', () => {
  it('builds a real package: WAITING OK, the .changes and .deb fetched from /filecache verify', async () => {
    t = await startTestBuilder({ backend: 'dpkg', backendOptions: { kill }, archTag: HOST_ARCH });
    const { filemap, name, version } = await stagedSource({ variant: 'ok' });
    expect(await t.call('build', 'PACKAGEBUILD-1', 'binarypackage', 'fake-chroot', filemap, BUILD_ARGS)).toEqual(['BuilderStatus.BUILDING', 'PACKAGEBUILD-1']);
    const s = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(s.build_status).toBe('BuildStatus.OK');
    expect(s.dependencies).toBe('');
    const changes = `${name}_${version}_${HOST_ARCH}.changes`;
    const deb = `${name}_${version}_${HOST_ARCH}.deb`;
    expect(Object.keys(s.filemap)).toEqual(expect.arrayContaining([changes, deb]));
    const dir = mkdtempSync(join(tmpdir(), 'lp-dpkg-out-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (const [file, sum] of Object.entries(s.filemap as Record<string, string>)) {
      const body = Buffer.from(await (await fetch(`${t.url}/filecache/${sum}`)).arrayBuffer());
      expect(sha1hex(body)).toBe(sum);
      writeFileSync(join(dir, basename(file)), body);
    }
    expect(execFileSync('dpkg-deb', ['--field', join(dir, deb), 'Package'], { encoding: 'utf8' }).trim()).toBe(name);
    const log = await (await fetch(`${t.url}/filecache/buildlog`)).text();
    expect(log).toContain('RUN: dpkg-buildpackage -us -uc -B');
    expect(await t.call('clean')).toBe('BuilderStatus.IDLE');
  });

  it('an unsatisfiable Build-Depends is DEPFAIL with the relation in dependencies', async () => {
    t = await startTestBuilder({ backend: 'dpkg', backendOptions: { kill }, archTag: HOST_ARCH });
    const { filemap } = await stagedSource({ variant: 'depfail' });
    await t.call('build', 'PACKAGEBUILD-2', 'binarypackage', 'fake-chroot', filemap, BUILD_ARGS);
    const s = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(s).toEqual({
      builder_status: 'BuilderStatus.WAITING',
      build_status: 'BuildStatus.DEPFAIL',
      build_id: 'PACKAGEBUILD-2',
      filemap: {},
      dependencies: UNSATISFIABLE_DEPENDENCY,
    });
  });

  it('a failing build is PACKAGEFAIL', async () => {
    t = await startTestBuilder({ backend: 'dpkg', backendOptions: { kill }, archTag: HOST_ARCH });
    const { filemap } = await stagedSource({ variant: 'fail' });
    await t.call('build', 'PACKAGEBUILD-3', 'binarypackage', 'fake-chroot', filemap, BUILD_ARGS);
    const s = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(s.build_status).toBe('BuildStatus.PACKAGEFAIL');
  });

  it('abort kills the build tree, even a child that ignores SIGINT and SIGTERM: WAITING ABORTED', async () => {
    t = await startTestBuilder({ backend: 'dpkg', backendOptions: { kill }, archTag: HOST_ARCH });
    const { filemap, marker } = await stagedSource({ variant: 'sleep' });
    await t.call('build', 'PACKAGEBUILD-4', 'binarypackage', 'fake-chroot', filemap, BUILD_ARGS);
    while (processesMatching(`sleep ${marker}`).length === 0) await new Promise((r) => setTimeout(r, 50));
    expect(await t.call('abort')).toBe('BuilderStatus.ABORTING');
    const s = await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(s).toEqual({ builder_status: 'BuilderStatus.WAITING', build_status: 'BuildStatus.ABORTED', build_id: 'PACKAGEBUILD-4' });
    expect(processesMatching(marker)).toEqual([]);
  });
});
