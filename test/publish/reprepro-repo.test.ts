// The repository layer alone: conf/distributions generation, serialised includes, replaying an
// include of the same upload is harmless, and the listing reflects what was included.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandRunner } from '../../src-main/controller/publish/command-runner';
import { distributionsConf, RepreproRepos } from '../../src-main/controller/publish/reprepro-repo';
import { writeSourceTree } from '../fixtures/make-package';
import { HOST_ARCH, tempDirs } from '../worker/helpers';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

function binaryUpload(root: string, name: string, version: string): string {
  const dir = join(root, `${name}-${version}-build`);
  mkdirSync(dir, { recursive: true });
  const t = writeSourceTree(dir, { name, version });
  execFileSync('dpkg-buildpackage', ['-b', '-uc', '-us'], { cwd: t.tree, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  return join(dir, `${name}_${version}_${HOST_ARCH}.changes`);
}

describe('reprepro repositories', () => {
  it('conf/distributions: one stanza per suite with its arches and source, SignWith when signing', () => {
    const conf = distributionsConf([{ suite: 'alpha', arches: ['i386', 'amd64', 'amd64'] }, { suite: 'bad/name', arches: ['amd64'] }], 'ABCDEF');
    expect(conf).toContain('Codename: alpha\nSuite: alpha\nArchitectures: amd64 i386 source\nComponents: main\n');
    expect(conf).toContain('SignWith: ABCDEF');
    expect(conf).not.toContain('bad/name');
  });

  it('includes uploads one at a time, replays are no-ops, newer versions replace older ones', async () => {
    const root = dirs.make('bb-reprepro-');
    const lines: string[] = [];
    const repos = new RepreproRepos(join(root, 'repo'), commandRunner((l) => lines.push(l)), null);
    const suites = [{ suite: 'rsuite', arches: [HOST_ARCH] }];
    const a1 = binaryUpload(root, 'bbrepo-a', '1.0');
    const a2 = binaryUpload(root, 'bbrepo-a', '2.0');
    const b1 = binaryUpload(root, 'bbrepo-b', '1.0');
    await Promise.all([repos.include('Test', suites, 'rsuite', a1), repos.include('Test', suites, 'rsuite', b1), repos.include('Test', suites, 'rsuite', a1)]);
    expect(lines.filter((l) => l.startsWith('RUN: reprepro') && l.includes(' include ')).length).toBe(3);
    let list = await repos.list('Test');
    expect(list.suites).toEqual(['rsuite']);
    expect(list.entries.map((e) => `${e.package} ${e.version} ${e.arch}`).sort()).toEqual([`bbrepo-a 1.0 ${HOST_ARCH}`, `bbrepo-b 1.0 ${HOST_ARCH}`]);
    await repos.include('Test', suites, 'rsuite', a2);
    list = await repos.list('Test');
    expect(list.entries.map((e) => `${e.package} ${e.version}`).sort()).toEqual(['bbrepo-a 2.0', 'bbrepo-b 1.0']);
    // Each entry says where its file is, and the unsigned suite says so.
    expect(list.entries.find((e) => e.package === 'bbrepo-b')?.path).toBe(`pool/main/b/bbrepo-b/bbrepo-b_1.0_${HOST_ARCH}.deb`);
    expect(list.signing).toEqual({ rsuite: { signed: false, signer: null } });
    expect(readFileSync(join(root, 'repo', 'Test', 'dists', 'rsuite', 'Release'), 'utf8')).toContain('Codename: rsuite');
    expect(readdirSync(join(root, 'repo', 'Test', 'pool', 'main', 'b', 'bbrepo-b'))).toEqual([`bbrepo-b_1.0_${HOST_ARCH}.deb`]);
    expect(() => repos.base('../escape')).toThrow(/cannot name a repository/);
  }, 60_000);
});
