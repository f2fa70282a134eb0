import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBuildLog } from '../../src-worker/build-log';
import { fetchSource, FetchError, type FetchContext, type SourceRequest } from '../../src-worker/fetch/index';
import { mirrorFor } from '../../src-worker/fetch/apt';
import { makeAptRepo } from '../fixtures/apt-repo';
import { makeGitRepo, makeSourcePackage, makeSvnRepo, writeSourceTree } from '../fixtures/make-package';
import { serveDirectory, type StaticServer } from '../fixtures/static-server';
import { hasCommand, tempDirs } from './helpers';

const dirs = tempDirs();
const servers: StaticServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  dirs.cleanup();
});

async function serve(dir: string, opts?: Parameters<typeof serveDirectory>[1]) {
  const s = await serveDirectory(dir, opts);
  servers.push(s);
  return s;
}

function ctx(extra: Partial<FetchContext> = {}): FetchContext & { log: MemoryBuildLog } {
  return { dir: dirs.make('bb-fetch-'), log: new MemoryBuildLog(), signal: new AbortController().signal, ...extra } as FetchContext & {
    log: MemoryBuildLog;
  };
}

const req = (r: Partial<SourceRequest>): SourceRequest => ({
  method: 'git',
  uri: null,
  vcsId: null,
  package: 'bbtest-ok',
  version: '1.0',
  suite: 'unstable',
  ...r,
});

async function expectFetchError(p: Promise<unknown>, text?: string) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchError);
  if (text) expect((err as Error).message).toContain(text);
}

describe('git fetcher (dumb HTTP)', () => {
  it('clones, checks out vcs_id and builds a .dsc', async () => {
    const served = dirs.make('bb-git-');
    const t = writeSourceTree(dirs.make('bb-tree-'), { name: 'bbtest-ok' });
    const repo = makeGitRepo(t.tree, served, 'bbtest-ok');
    const http = await serve(served);
    const c = ctx();
    const got = await fetchSource(req({ uri: `${http.url}/bbtest-ok.git`, vcsId: repo.commit }), c);
    expect(basename(got.dsc)).toBe('bbtest-ok_1.0.dsc');
    expect(existsSync(join(c.dir, 'bbtest-ok_1.0.tar.xz'))).toBe(true);
    // The requested commit, not the later head, was packaged.
    expect(readFileSync(join(c.dir, 'bbtest-ok', 'README'), 'utf8')).toContain('Buildbox test package');
    expect(c.log.text).toContain(`RUN: git clone --quiet -- ${http.url}/bbtest-ok.git`);
    expect(c.log.text).toContain(`checkout --quiet ${repo.commit}`);
    expect(c.log.text).toContain('RUN: dpkg-source -b');
  });

  it('fails when the clone fails (pyBit masked this)', async () => {
    const http = await serve(dirs.make('bb-empty-'));
    await expectFetchError(fetchSource(req({ uri: `${http.url}/missing.git`, vcsId: 'main' }), ctx()), 'git clone');
  });

  it('fails on an unknown revision', async () => {
    const served = dirs.make('bb-git-');
    const t = writeSourceTree(dirs.make('bb-tree-'), {});
    makeGitRepo(t.tree, served, 'bbtest-ok');
    const http = await serve(served);
    await expectFetchError(fetchSource(req({ uri: `${http.url}/bbtest-ok.git`, vcsId: 'no-such-branch' }), ctx()), 'git checkout');
  });

  it('refuses option-like URIs and revisions', async () => {
    await expectFetchError(fetchSource(req({ uri: '--upload-pack=touch /tmp/x' }), ctx()), 'must not start');
  });

  it('only logs in dry-run mode', async () => {
    const c = ctx({ dryRun: true });
    const got = await fetchSource(req({ uri: 'http://127.0.0.1:9/none.git', vcsId: 'abc' }), c);
    expect(got.dsc).toBe(join(c.dir, 'bbtest-ok_1.0.dsc'));
    expect(readdirSync(c.dir)).toEqual([]);
    expect(c.log.text).toContain('(dry run: not executed)');
  });
});

describe.runIf(hasCommand('svn'))('svn fetcher', () => {
  it('exports uri@rev and builds a .dsc', async () => {
    const t = writeSourceTree(dirs.make('bb-tree-'), { name: 'bbtest-ok' });
    const svn = makeSvnRepo(t.tree, join(dirs.make('bb-svn-'), 'repo'));
    const c = ctx();
    const got = await fetchSource(req({ method: 'svn', uri: svn.url, vcsId: svn.revision }), c);
    expect(basename(got.dsc)).toBe('bbtest-ok_1.0.dsc');
    expect(c.log.text).toContain(`RUN: svn export --non-interactive --quiet ${svn.url}@1 `);
  });

  it('fails for a missing repository or revision', async () => {
    const t = writeSourceTree(dirs.make('bb-tree-'), {});
    const svn = makeSvnRepo(t.tree, join(dirs.make('bb-svn-'), 'repo'));
    await expectFetchError(fetchSource(req({ method: 'svn', uri: `${svn.url}/nope`, vcsId: '1' }), ctx()), 'svn export');
    await expectFetchError(fetchSource(req({ method: 'svn', uri: svn.url, vcsId: '99' }), ctx()), 'svn export');
  });
});

describe('dsc fetcher', () => {
  it('downloads the .dsc and its files, verifying checksums', async () => {
    const src = makeSourcePackage(dirs.make('bb-src-'), {});
    const http = await serve(src.dir);
    const c = ctx();
    const got = await fetchSource(req({ method: 'dsc', uri: `${http.url}/${basename(src.dsc)}` }), c);
    expect(got.dsc).toBe(join(c.dir, basename(src.dsc)));
    expect(readdirSync(c.dir).sort()).toEqual([...src.files].sort());
  });

  it('fails on a checksum mismatch', async () => {
    const src = makeSourcePackage(dirs.make('bb-src-'), {});
    const tarball = src.files.find((f) => f.endsWith('.tar.xz'))!;
    const data = readFileSync(join(src.dir, tarball));
    data[data.length - 1] ^= 0xff; // same size, different content
    writeFileSync(join(src.dir, tarball), data);
    const http = await serve(src.dir);
    await expectFetchError(fetchSource(req({ method: 'dsc', uri: `${http.url}/${basename(src.dsc)}` }), ctx()), 'SHA-256 mismatch');
  });

  it('fails naming a listed file the server does not have', async () => {
    const src = makeSourcePackage(dirs.make('bb-src-'), {});
    const tarball = src.files.find((f) => f.endsWith('.tar.xz'))!;
    rmSync(join(src.dir, tarball));
    const http = await serve(src.dir);
    await expectFetchError(fetchSource(req({ method: 'dsc', uri: `${http.url}/${basename(src.dsc)}` }), ctx()), 'HTTP 404');
  });

  it('fails on HTTP errors and non-.dsc URIs', async () => {
    const http = await serve(dirs.make('bb-empty-'));
    await expectFetchError(fetchSource(req({ method: 'dsc', uri: `${http.url}/x_1.0.dsc` }), ctx()), 'HTTP 404');
    await expectFetchError(fetchSource(req({ method: 'dsc', uri: `${http.url}/x.tar.gz` }), ctx()), '.dsc');
    await expectFetchError(fetchSource(req({ method: 'dsc', uri: 'not a url' }), ctx()), 'not a URL');
  });

  it('sends URL credentials as Basic auth and keeps them out of the log', async () => {
    const src = makeSourcePackage(dirs.make('bb-src-'), {});
    const http = await serve(src.dir, { basicAuth: { user: 'builder', password: 's3cret' } });
    const c = ctx();
    const url = new URL(`${http.url}/${basename(src.dsc)}`);
    url.username = 'builder';
    url.password = 's3cret';
    await fetchSource(req({ method: 'dsc', uri: url.href }), c);
    expect(c.log.text).toContain('DOWNLOAD: http://127.0.0.1');
    expect(c.log.text).not.toContain('s3cret');
  });
});

describe('apt fetcher', () => {
  it('uses the transport URI as the mirror when it is one, else the configured mirror', () => {
    const c = ctx({ mirror: 'http://mirror.example/debian' });
    expect(mirrorFor(req({ method: 'apt', uri: 'http://other.example/debian' }), c)).toBe('http://other.example/debian');
    expect(mirrorFor(req({ method: 'apt', uri: 'hello' }), c)).toBe('http://mirror.example/debian');
    expect(mirrorFor(req({ method: 'apt', uri: null }), ctx())).toBe('http://deb.debian.org/debian');
  });

  it('downloads pkg=version with a private apt state from a local mirror', async () => {
    const repo = dirs.make('bb-apt-');
    const v1 = makeSourcePackage(dirs.make('bb-src-'), { name: 'bbtest-apt', version: '1.0' });
    const v2 = makeSourcePackage(dirs.make('bb-src-'), { name: 'bbtest-apt', version: '2.0' });
    makeAptRepo(repo, 'testsuite', [v1, v2]);
    const http = await serve(repo);
    const c = ctx({ aptAllowUnauthenticated: true });
    const got = await fetchSource(req({ method: 'apt', uri: http.url, package: 'bbtest-apt', version: '1.0', suite: 'testsuite' }), c);
    expect(basename(got.dsc)).toBe('bbtest-apt_1.0.dsc');
    expect(existsSync(join(c.dir, 'bbtest-apt_1.0.tar.xz'))).toBe(true);
    expect(existsSync(join(c.dir, 'bbtest-apt_2.0.dsc'))).toBe(false);
    expect(readFileSync(join(c.dir, '.apt', 'sources.list'), 'utf8')).toBe(`deb-src [trusted=yes] ${http.url} testsuite main\n`);
  });

  it('fails for a version the mirror does not have', async () => {
    const repo = dirs.make('bb-apt-');
    makeAptRepo(repo, 'testsuite', [makeSourcePackage(dirs.make('bb-src-'), { name: 'bbtest-apt' })]);
    const http = await serve(repo);
    const c = ctx({ aptAllowUnauthenticated: true });
    await expectFetchError(
      fetchSource(req({ method: 'apt', uri: http.url, package: 'bbtest-apt', version: '9.9', suite: 'testsuite' }), c),
      'apt-get source',
    );
  });
});

describe('fetchSource', () => {
  it('rejects unknown methods', async () => {
    await expectFetchError(fetchSource(req({ method: 'cvs', uri: 'x' }), ctx()), 'wrong_method');
  });

  it('reports an aborted fetch as aborted', async () => {
    mkdirSync(dirs.make('bb-x-'), { recursive: true });
    const err = await fetchSource(req({ uri: 'http://127.0.0.1:9/x.git' }), ctx({ signal: AbortSignal.abort() })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as FetchError).aborted).toBe(true);
  });
});
