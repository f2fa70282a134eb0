import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuildSpec } from '../../src-worker/backends/backend';
import { DpkgBackend } from '../../src-worker/backends/dpkg';
import { MemoryBuildLog } from '../../src-worker/build-log';
import { makeSourcePackage, UNSATISFIABLE_DEPENDENCY, type PackageSpec } from '../fixtures/make-package';
import { HOST_ARCH, processesMatching, tempDirs, until } from './helpers';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

function specFor(pkg: PackageSpec, overrides: Partial<BuildSpec> = {}) {
  const src = makeSourcePackage(dirs.make('bb-src-'), pkg);
  const log = new MemoryBuildLog();
  const spec: BuildSpec = {
    workdir: join(dirs.make('bb-build-'), 'build'),
    dsc: src.dsc,
    arch: HOST_ARCH,
    suite: 'unstable',
    archIndep: true,
    log,
    signal: new AbortController().signal,
    ...overrides,
  };
  return { src, log, spec };
}

const backend = new DpkgBackend({ kill: { afterInterruptMs: 500, afterTerminateMs: 500 } });

describe('dpkg backend', () => {
  it('builds a master (full) upload: source, binaries, .buildinfo, .changes', async () => {
    const { src, log, spec } = specFor({ variant: 'ok' });
    const out = await backend.build(spec);
    expect(out.category).toBe('OK');
    const names = out.files.map((f) => basename(f)).sort();
    const base = `${src.name}_${src.version}`;
    expect(names).toEqual(
      [`${base}.dsc`, `${base}.tar.xz`, `${base}_${HOST_ARCH}.buildinfo`, `${base}_${HOST_ARCH}.changes`, `${base}_${HOST_ARCH}.deb`].sort(),
    );
    expect(basename(out.changesFile!)).toBe(`${base}_${HOST_ARCH}.changes`);
    expect(log.text).toContain('HOST BUILD (dpkg-buildpackage): NO ISOLATION');
    expect(log.text).toContain(`Host architecture: ${HOST_ARCH}\n`);
    expect(log.text).toContain('RUN: dpkg-buildpackage -us -uc\n');
    expect(log.text).toContain(`buildbox-test: building ${src.marker}`);
  });

  it('builds only arch-dependent packages for a slave (-B)', async () => {
    const { src, log, spec } = specFor({ variant: 'ok' }, { archIndep: false });
    const out = await backend.build(spec);
    expect(out.category).toBe('OK');
    const names = out.files.map((f) => basename(f));
    expect(names).toContain(`${src.name}_${src.version}_${HOST_ARCH}.deb`);
    expect(names.some((n) => n.endsWith('.dsc'))).toBe(false);
    expect(log.text).toContain('RUN: dpkg-buildpackage -us -uc -B\n');
  });

  it('has nothing to build for a slave of an Architecture: all package', async () => {
    const { spec } = specFor({ variant: 'ok', architecture: 'all' }, { archIndep: false });
    const out = await backend.build(spec);
    expect(out).toMatchObject({ category: 'OK', files: [] });
  });

  it('reports a failing build as PACKAGEFAIL', async () => {
    const { log, spec } = specFor({ variant: 'fail' });
    const out = await backend.build(spec);
    expect(out.category).toBe('PACKAGEFAIL');
    expect(out.files).toEqual([]);
    expect(log.text).toContain('failing on purpose');
  });

  it('reports an unsatisfiable build dependency as DEPFAIL, naming it', async () => {
    const { log, spec } = specFor({ variant: 'depfail' });
    const out = await backend.build(spec);
    expect(out.category).toBe('DEPFAIL');
    expect(out.missingDependencies).toBe(UNSATISFIABLE_DEPENDENCY);
    // dpkg-buildpackage's own check refuses before anything is built.
    expect(log.text).toContain('build dependencies/conflicts unsatisfied');
    expect(log.text).not.toContain('buildbox-test: building');
  });

  it('refuses to build for another architecture (BUILDERFAIL)', async () => {
    const other = HOST_ARCH === 'amd64' ? 'arm64' : 'amd64';
    const { spec } = specFor({ variant: 'ok' }, { arch: other });
    const out = await backend.build(spec);
    expect(out.category).toBe('BUILDERFAIL');
    expect(out.message).toContain(other);
  });

  it('kills the whole build tree on abort (ABORTED, no survivors)', async () => {
    const ac = new AbortController();
    const { src, log, spec } = specFor({ variant: 'sleep' }, { signal: ac.signal });
    const building = backend.build(spec);
    await until(() => processesMatching(`sleep ${src.marker}`).length > 0);
    ac.abort();
    const out = await building;
    expect(out.category).toBe('ABORTED');
    expect(processesMatching(src.marker)).toEqual([]);
    expect(log.text).toContain('Sent SIGKILL');
  });
});
