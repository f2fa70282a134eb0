// Launchpad chroot tarballs (top-level chroot-autobuild/) re-rooted for sbuild's unshare mode,
// checked against GNU tar itself: listings, long names, links, pax and GNU formats, compression.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, linkSync, writeFileSync, existsSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chrootForSbuild, reroot } from '../../src-worker/lp-builder/chroot-tarball';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lp-chroot-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const longDir = `usr/share/${'a-rather-long-directory-name/'.repeat(3)}`;
const longFile = `${longDir}${'f'.repeat(90)}.txt`;

/** A small tree shaped like a Launchpad chroot. */
function makeTree(): string {
  const src = join(dir, 'src');
  const root = join(src, 'chroot-autobuild');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, longDir), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'buildd\n');
  writeFileSync(join(root, longFile), 'long name\n');
  symlinkSync('/etc/hostname', join(root, 'etc/abs-link'));
  symlinkSync('hostname', join(root, 'etc/rel-link'));
  linkSync(join(root, 'etc/hostname'), join(root, 'etc/hard-link'));
  return src;
}

const list = (tarball: string) =>
  execFileSync('tar', ['-tvf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/).slice(5).join(' ')) // drop mode, owner, size, date, time
    .sort();

describe('chrootForSbuild', () => {
  for (const [format, compress] of [
    ['gnu', 'gz'],
    ['pax', 'xz'],
    ['ustar', 'none'],
  ] as const) {
    it(`re-roots a ${format} tarball (${compress}) so that tar sees the chroot at the top`, async () => {
      const src = makeTree();
      const cache = join(dir, 'cache');
      mkdirSync(cache);
      const raw = join(dir, 'lp.tar');
      execFileSync('tar', [`--format=${format}`, '-C', src, '-cf', raw, 'chroot-autobuild']);
      const sum = `chroot-${format}`;
      if (compress === 'gz') execFileSync('sh', ['-c', `gzip -c '${raw}' > '${join(cache, sum)}'`]);
      else if (compress === 'xz') execFileSync('sh', ['-c', `xz -c '${raw}' > '${join(cache, sum)}'`]);
      else writeFileSync(join(cache, sum), readFileSync(raw));

      const r = await chrootForSbuild(cache, sum, join(cache, '.chroots'));
      expect(r.converted).toBe(true);
      const names = list(r.path);
      expect(names).toContain('./');
      expect(names.some((n) => n.startsWith('./etc/hostname'))).toBe(true); // plain, or "link to" if tar met the hard link first
      expect(names).toContain(`./${longFile}`);
      expect(names).toContain('./etc/abs-link -> /etc/hostname');
      expect(names).toContain('./etc/rel-link -> hostname');
      expect(names.some((n) => /^\.\/etc\/hard-link link to \.\/etc\/hostname$|^\.\/etc\/hostname link to \.\/etc\/hard-link$/.test(n))).toBe(true);
      expect(names.join('\n')).not.toContain('chroot-autobuild');

      // Unpacked, it is the same tree.
      const out = join(dir, 'out');
      mkdirSync(out);
      execFileSync('tar', ['-C', out, '-xf', r.path]);
      expect(readFileSync(join(out, 'etc/hostname'), 'utf8')).toBe('buildd\n');
      expect(readFileSync(join(out, longFile), 'utf8')).toBe('long name\n');
      expect(readlinkSync(join(out, 'etc/abs-link'))).toBe('/etc/hostname');
      expect(readFileSync(join(out, 'etc/hard-link'), 'utf8')).toBe('buildd\n');

      // Converted once: the second call reuses the file.
      expect((await chrootForSbuild(cache, sum, join(cache, '.chroots'))).path).toBe(r.path);
    });
  }

  it('passes a tarball that is already rooted at the top through unchanged', async () => {
    const cache = join(dir, 'cache');
    mkdirSync(join(dir, 'plain/etc'), { recursive: true });
    mkdirSync(cache);
    writeFileSync(join(dir, 'plain/etc/hostname'), 'x');
    execFileSync('tar', ['-C', join(dir, 'plain'), '-czf', join(cache, 'plain'), '.']);
    const r = await chrootForSbuild(cache, 'plain', join(cache, '.chroots'));
    expect(r).toEqual({ path: join(cache, 'plain'), converted: false });
    expect(existsSync(join(cache, '.chroots', 'plain.tar'))).toBe(false);
  });

  it('refuses a cut archive and leaves no partial conversion', async () => {
    const src = makeTree();
    const cache = join(dir, 'cache');
    mkdirSync(cache);
    const raw = join(dir, 'lp.tar');
    execFileSync('tar', ['-C', src, '-cf', raw, 'chroot-autobuild']);
    writeFileSync(join(cache, 'cut'), readFileSync(raw).subarray(0, 1500));
    await expect(chrootForSbuild(cache, 'cut', join(cache, '.chroots'))).rejects.toThrow(/truncated/);
    expect(execFileSync('ls', ['-A', join(cache, '.chroots')], { encoding: 'utf8' })).toBe('');
  });

  it('reroot maps names', () => {
    expect(reroot('chroot-autobuild/')).toBe('./');
    expect(reroot('./chroot-autobuild/etc/x')).toBe('./etc/x');
    expect(reroot('chroot-autobuildx/etc')).toBeNull();
    expect(reroot('./')).toBeNull();
  });
});
