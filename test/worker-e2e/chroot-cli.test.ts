// `buildbox chroot list|create`: the tarballs the sbuild backend builds in.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../worker/helpers';
import { runCli } from './harness';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

async function cli(args: string[]) {
  const p = runCli(args);
  const { code } = await p.exited;
  return { code, out: p.lines.join('\n') };
}

describe('buildbox chroot', () => {
  it('lists tarballs by chroot name and arch, skipping partial files', async () => {
    const dir = dirs.make('bb-chroots-');
    expect((await cli(['chroot', 'list', '--chroots', dir])).out).toContain('No chroot tarballs');
    writeFileSync(join(dir, 'wheezy-development-amd64.tar.zst'), '');
    writeFileSync(join(dir, '.partial-unstable-amd64.tar.zst'), '');
    const r = await cli(['chroot', 'list', '--chroots', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`wheezy-development\tamd64\t${join(dir, 'wheezy-development-amd64.tar.zst')}`);
  });

  it('create runs mmdebstrap into a partial file named <env>-<suite>-<arch>', async () => {
    const dir = dirs.make('bb-chroots-');
    const r = await cli(['chroot', 'create', '--suite', 'bookworm', '--env', 'wheezy', '--arch', 'arm64', '--mirror', 'http://deb.debian.org/debian', '--chroots', dir, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`RUN: mmdebstrap --variant=buildd --arch=arm64 bookworm ${join(dir, '.partial-wheezy-bookworm-arm64.tar.zst')} http://deb.debian.org/debian`);
    expect(r.out).toContain('Dry run: nothing created');
  });

  it.each([
    [['--suite', '../etc'], /--suite is not a valid name/],
    [['--suite', 'bookworm', '--mirror', 'ftp://x'], /--mirror must be an http\(s\):\/\/ or file:\/\/ URL/],
  ])('create refuses %j', async (args, message) => {
    const r = await cli(['chroot', 'create', ...args, '--chroots', dirs.make(), '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(message);
  });
});
