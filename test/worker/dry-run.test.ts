import { describe, expect, it } from 'vitest';
import type { BuildSpec } from '../../src-worker/backends/backend';
import { DryRunBackend } from '../../src-worker/backends/dry-run';
import { backendNames, createBackend, registerBackend } from '../../src-worker/backends/index';
import { MemoryBuildLog } from '../../src-worker/build-log';

function spec(over: Partial<BuildSpec> = {}): BuildSpec & { log: MemoryBuildLog } {
  return {
    workdir: '/nonexistent/build',
    dsc: '/nonexistent/src/hello_2.10-3.dsc',
    arch: 'i386',
    suite: 'development',
    archIndep: true,
    chrootTarball: '/srv/chroots/development-i386.tar.zst',
    log: new MemoryBuildLog(),
    signal: new AbortController().signal,
    ...over,
  } as BuildSpec & { log: MemoryBuildLog };
}

describe('dry-run backend', () => {
  it('logs the sbuild command a master build would run and reports OK without files', async () => {
    const s = spec();
    const out = await new DryRunBackend().build(s);
    expect(out).toMatchObject({ category: 'OK', files: [] });
    expect(s.log.text).toContain(
      'RUN: sbuild --chroot-mode=unshare --chroot=/srv/chroots/development-i386.tar.zst -d development --arch=i386 --nolog --build-dir=/nonexistent/build --no-run-lintian --no-run-piuparts --no-run-autopkgtest -A -s /nonexistent/src/hello_2.10-3.dsc',
    );
    expect(s.log.text).toContain('(dry run: not executed)');
  });

  it('shows --no-arch-all for a slave and the dpkg commands when asked', async () => {
    const slave = spec({ archIndep: false });
    await new DryRunBackend().build(slave);
    expect(slave.log.text).toContain('--no-arch-all --no-source');
    const d = spec({ archIndep: false });
    await new DryRunBackend({ plan: 'dpkg' }).build(d);
    expect(d.log.text).toContain('RUN: dpkg-source -x /nonexistent/src/hello_2.10-3.dsc /nonexistent/build/hello-2.10-3');
    expect(d.log.text).not.toContain('dpkg-checkbuilddeps'); // dpkg-buildpackage checks them itself
    expect(d.log.text).toContain('RUN: dpkg-buildpackage -us -uc -B');
  });

  it('reports ABORTED when aborted', async () => {
    const out = await new DryRunBackend().build(spec({ signal: AbortSignal.abort() }));
    expect(out.category).toBe('ABORTED');
  });
});

describe('createBackend', () => {
  it('knows sbuild, dpkg and dry-run, and accepts more', async () => {
    expect(createBackend('sbuild').name).toBe('sbuild');
    expect(createBackend('dpkg').name).toBe('dpkg');
    expect(createBackend('dry-run').name).toBe('dry-run');
    expect(() => createBackend('nope')).toThrow(/unknown build backend "nope"/);
    registerBackend('test-null', () => ({ name: 'test-null', build: async () => ({ category: 'OK', files: [] }) }));
    expect(backendNames()).toContain('test-null');
    expect(createBackend('test-null').name).toBe('test-null');
  });
});
