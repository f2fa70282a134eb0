import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBuildLog } from '../../src-worker/build-log';
import { chrootName, createChrootTarball, findChroot, listChroots } from '../../src-worker/chroots';
import { tempDirs } from './helpers';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

function chrootsDir(files: string[]): string {
  const d = join(dirs.make('bb-chroots-'), 'chroots');
  mkdirSync(d);
  for (const f of files) writeFileSync(join(d, f), '');
  return d;
}

describe('chroot tarballs', () => {
  it('names chroots as pyBit does: <env>-<suite> or <suite>', () => {
    expect(chrootName('development', 'wheezy')).toBe('wheezy-development');
    expect(chrootName('development', null)).toBe('development');
  });

  it('lists tarballs, skipping partial files and other files', () => {
    const d = chrootsDir(['bookworm-amd64.tar.zst', 'wheezy-development-i386.tar.gz', '.partial-sid-amd64.tar.zst', 'README', 'x.tar.zst.sig']);
    expect(listChroots(d)).toEqual([
      { name: 'bookworm', arch: 'amd64', path: join(d, 'bookworm-amd64.tar.zst') },
      { name: 'wheezy-development', arch: 'i386', path: join(d, 'wheezy-development-i386.tar.gz') },
    ]);
    expect(listChroots(join(d, 'missing'))).toEqual([]);
  });

  it('chooses <env>-<suite> first, then <suite>, for the right arch, preferring .tar.zst', () => {
    const d = chrootsDir(['development-i386.tar', 'development-i386.tar.zst', 'wheezy-development-i386.tar.xz', 'development-amd64.tar.zst']);
    expect(findChroot(d, { suite: 'development', arch: 'i386', buildEnv: 'wheezy' })?.path).toBe(join(d, 'wheezy-development-i386.tar.xz'));
    expect(findChroot(d, { suite: 'development', arch: 'i386', buildEnv: 'squeeze' })?.path).toBe(join(d, 'development-i386.tar.zst'));
    expect(findChroot(d, { suite: 'development', arch: 'i386' })?.path).toBe(join(d, 'development-i386.tar.zst'));
    expect(findChroot(d, { suite: 'development', arch: 'armel' })).toBeUndefined();
  });

  it('creates tarballs with mmdebstrap --variant=buildd (dry run)', async () => {
    const log = new MemoryBuildLog();
    const d = chrootsDir([]);
    const { result, chroot } = await createChrootTarball({ dir: d, suite: 'bookworm', name: 'development', arch: 'amd64', mirror: 'http://deb.debian.org/debian', log, dryRun: true });
    expect(result.ok).toBe(true);
    expect(chroot).toBeUndefined();
    expect(log.text).toContain(`RUN: mmdebstrap --variant=buildd --arch=amd64 bookworm ${d}/.partial-development-amd64.tar.zst http://deb.debian.org/debian`);
    expect(listChroots(d)).toEqual([]);
  });
});
