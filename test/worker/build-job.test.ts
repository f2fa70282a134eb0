import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuildBackend } from '../../src-worker/backends/backend';
import { DpkgBackend } from '../../src-worker/backends/dpkg';
import { DryRunBackend } from '../../src-worker/backends/dry-run';
import { runBuildJob, type BuildReporter, type JobStage, type ProducedFile } from '../../src-worker/build-job';
import type { FileBuildLog } from '../../src-worker/build-log';
import { makeBuildRequest, type RequestSpec } from '../fixtures/build-request';
import { makeGitRepo, makeSourcePackage, UNSATISFIABLE_DEPENDENCY, writeSourceTree, type PackageSpec } from '../fixtures/make-package';
import { serveDirectory, type StaticServer } from '../fixtures/static-server';
import { HOST_ARCH, processesMatching, tempDirs, until } from './helpers';

const dirs = tempDirs();
const servers: StaticServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  dirs.cleanup();
});

const dpkg = new DpkgBackend({ kill: { afterInterruptMs: 500, afterTerminateMs: 500 } });

/** Records what the job reported, and checks the files exist while `artifacts` runs. */
function recorder(opts: { failUpload?: boolean; failStage?: boolean } = {}) {
  const stages: JobStage[] = [];
  const uploaded: Array<ProducedFile & { existed: boolean }> = [];
  let log: FileBuildLog | null = null;
  const reporter: BuildReporter = {
    stage: (s) => {
      stages.push(s);
      if (opts.failStage) throw new Error('controller unreachable');
    },
    log: (l) => {
      log = l;
    },
    artifacts: async (files) => {
      for (const f of files) uploaded.push({ ...f, existed: existsSync(f.path) });
      if (opts.failUpload) throw new Error('librarian said 503');
    },
  };
  return { reporter, stages, uploaded, getLog: () => log as FileBuildLog | null };
}

async function servePackage(pkg: PackageSpec) {
  const src = makeSourcePackage(dirs.make('bb-src-'), pkg);
  const http = await serveDirectory(src.dir);
  servers.push(http);
  return { src, uri: `${http.url}/${basename(src.dsc)}` };
}

function request(r: Omit<RequestSpec, 'arch'> & { arch?: string }) {
  return makeBuildRequest({ arch: HOST_ARCH, ...r });
}

describe('build job', () => {
  it('builds a master job end to end from git over HTTP', async () => {
    const served = dirs.make('bb-git-');
    const t = writeSourceTree(dirs.make('bb-tree-'), { name: 'bbtest-git', version: '1.2' });
    const repo = makeGitRepo(t.tree, served, 'bbtest-git');
    const http = await serveDirectory(served);
    servers.push(http);
    const buildroot = dirs.make('bb-root-');
    const rec = recorder();

    const r = await runBuildJob({
      request: JSON.stringify(request({ jobId: 7, package: 'bbtest-git', version: '1.2', method: 'git', uri: `${http.url}/bbtest-git.git`, vcsId: repo.commit })),
      backend: dpkg,
      buildroot,
      reporter: rec.reporter,
      now: () => 1700000000,
    });

    expect(r).toMatchObject({ jobId: 7, category: 'OK', stage: 'build', changesFile: `bbtest-git_1.2_${HOST_ARCH}.changes` });
    const names = r.files.map((f) => f.name);
    expect(names[0]).toBe(`bbtest-git_1.2_${HOST_ARCH}.changes`);
    expect(names).toEqual(expect.arrayContaining(['bbtest-git_1.2.dsc', 'bbtest-git_1.2.tar.xz', `bbtest-git_1.2_${HOST_ARCH}.deb`]));
    expect(rec.stages).toEqual(['fetch', 'build', 'upload', 'clean']);
    expect(rec.uploaded.map((f) => f.name)).toEqual(names);
    expect(rec.uploaded.every((f) => f.existed && f.sha256.length === 64)).toBe(true);

    // pyBit's log name; the log tells the whole story.
    expect(r.logPath).toBe(join(buildroot, 'logs', `bbtest-git_1.2-${HOST_ARCH}-1700000000`));
    expect(rec.getLog()?.path).toBe(r.logPath);
    const text = readFileSync(r.logPath!, 'utf8');
    expect(text).toContain('Build type: master');
    expect(text).toContain('RUN: git clone');
    expect(text).toContain('RUN: dpkg-buildpackage -us -uc\n');
    expect(text).toContain('Result: OK');

    // The workspace is gone, and so are the files (nobody asked to keep them).
    expect(readdirSync(join(buildroot, 'unstable', 'git'))).toEqual([]);
    expect(existsSync(r.files[0].path)).toBe(false);
  });

  it('builds a slave job from a .dsc URL and keeps the files when asked', async () => {
    const { uri } = await servePackage({ name: 'bbtest-dsc', version: '2.0' });
    const buildroot = dirs.make('bb-root-');
    const keep = join(dirs.make('bb-keep-'), 'out');
    const r = await runBuildJob({
      request: request({ package: 'bbtest-dsc', version: '2.0', method: 'dsc', uri, master: false, timestamp: 1234 }),
      backend: dpkg,
      buildroot,
      keepFilesIn: keep,
    });
    expect(r.category).toBe('OK');
    expect(r.files.map((f) => f.name).sort()).toEqual(
      [`bbtest-dsc_2.0_${HOST_ARCH}.buildinfo`, `bbtest-dsc_2.0_${HOST_ARCH}.changes`, `bbtest-dsc_2.0_${HOST_ARCH}.deb`].sort(),
    );
    expect(r.files.every((f) => f.path.startsWith(keep) && existsSync(f.path))).toBe(true);
    expect(r.logPath).toBe(join(buildroot, 'logs', `bbtest-dsc_2.0-${HOST_ARCH}-1234`)); // the request's timestamp wins
    expect(readFileSync(r.logPath!, 'utf8')).toContain('Build type: slave');
    expect(readdirSync(join(buildroot, 'unstable', 'dsc'))).toEqual([]);
  });

  it('reports DEPFAIL with the missing dependency', async () => {
    const { uri } = await servePackage({ variant: 'depfail' });
    const rec = recorder();
    const r = await runBuildJob({
      request: request({ package: 'bbtest-depfail', version: '1.0', method: 'dsc', uri }),
      backend: dpkg,
      buildroot: dirs.make('bb-root-'),
      reporter: rec.reporter,
    });
    expect(r).toMatchObject({ category: 'DEPFAIL', stage: 'build', missingDependencies: UNSATISFIABLE_DEPENDENCY, files: [] });
    expect(rec.stages).toEqual(['fetch', 'build', 'clean']);
    expect(readFileSync(r.logPath!, 'utf8')).toContain(`Missing dependencies: ${UNSATISFIABLE_DEPENDENCY}`);
  });

  it('reports PACKAGEFAIL for a failing build', async () => {
    const { uri } = await servePackage({ variant: 'fail' });
    const r = await runBuildJob({
      request: request({ package: 'bbtest-fail', version: '1.0', method: 'dsc', uri }),
      backend: dpkg,
      buildroot: dirs.make('bb-root-'),
    });
    expect(r).toMatchObject({ category: 'PACKAGEFAIL', stage: 'build', files: [] });
  });

  it('fails at fetch when the source cannot be fetched, and still cleans up', async () => {
    const http = await serveDirectory(dirs.make('bb-empty-'));
    servers.push(http);
    const buildroot = dirs.make('bb-root-');
    const rec = recorder();
    let built = false;
    const spy: BuildBackend = { name: 'spy', build: async () => ((built = true), { category: 'OK', files: [] }) };
    for (const [method, uri] of [
      ['git', `${http.url}/missing.git`],
      ['dsc', `${http.url}/missing_1.0.dsc`],
      ['cvs', 'x'],
    ]) {
      const r = await runBuildJob({
        request: request({ package: 'missing', version: '1.0', method, uri }),
        backend: spy,
        buildroot,
        reporter: rec.reporter,
      });
      expect(r).toMatchObject({ category: 'PACKAGEFAIL', stage: 'fetch' });
      expect(r.message).toMatch(/^fetch failed: /);
      expect(readdirSync(join(buildroot, 'unstable', method))).toEqual([]);
    }
    expect(built).toBe(false);
    expect(rec.stages).toEqual(['fetch', 'clean', 'fetch', 'clean', 'fetch', 'clean']);
  });

  it('aborts a running build: the tree dies, the workspace goes, the result is ABORTED', async () => {
    const { src, uri } = await servePackage({ variant: 'sleep' });
    const buildroot = dirs.make('bb-root-');
    const ac = new AbortController();
    const rec = recorder();
    const running = runBuildJob({
      request: request({ package: 'bbtest-sleep', version: '1.0', method: 'dsc', uri }),
      backend: dpkg,
      buildroot,
      reporter: rec.reporter,
      signal: ac.signal,
    });
    await until(() => {
      const log = rec.getLog();
      return !!log && log.size > 0 && readFileSync(log.path, 'utf8').includes(`buildbox-test: sleeping ${src.marker}`);
    });
    ac.abort();
    const r = await running;
    expect(r).toMatchObject({ category: 'ABORTED', stage: 'build' });
    expect(processesMatching(src.marker)).toEqual([]);
    expect(readdirSync(join(buildroot, 'unstable', 'dsc'))).toEqual([]);
    expect(readFileSync(r.logPath!, 'utf8')).toContain('Result: ABORTED');
  });

  it('gives the job back when uploading the results fails', async () => {
    const { uri } = await servePackage({});
    const rec = recorder({ failUpload: true });
    const r = await runBuildJob({
      request: request({ package: 'bbtest-ok', version: '1.0', method: 'dsc', uri }),
      backend: dpkg,
      buildroot: dirs.make('bb-root-'),
      reporter: rec.reporter,
    });
    expect(r).toMatchObject({ category: 'GIVENBACK', stage: 'upload' });
    expect(r.message).toContain('librarian said 503');
  });

  it('does not fail a build because status reports fail', async () => {
    const { uri } = await servePackage({});
    const rec = recorder({ failStage: true });
    const r = await runBuildJob({
      request: request({ package: 'bbtest-ok', version: '1.0', method: 'dsc', uri }),
      backend: dpkg,
      buildroot: dirs.make('bb-root-'),
      reporter: rec.reporter,
    });
    expect(r.category).toBe('OK');
    expect(readFileSync(r.logPath!, 'utf8')).toContain('WARNING: reporting stage fetch failed: controller unreachable');
  });

  it('rejects an unusable request without touching the disk', async () => {
    const buildroot = dirs.make('bb-root-');
    const bad = request({ package: '../etc', version: '1.0', method: 'git', uri: 'x' });
    const r = await runBuildJob({ request: bad, backend: dpkg, buildroot });
    expect(r).toMatchObject({ jobId: null, category: 'PACKAGEFAIL', stage: 'request', logPath: null });
    expect(r.message).toContain('invalid package name');
    expect(readdirSync(buildroot)).toEqual([]);
    const notJson = await runBuildJob({ request: '{nope', backend: dpkg, buildroot });
    expect(notJson.message).toContain('not JSON');
  });

  it('runs the whole flow with the dry-run backend and dry-run fetches', async () => {
    const buildroot = dirs.make('bb-root-');
    const r = await runBuildJob({
      request: request({ package: 'hello', version: '2.10-3', method: 'git', uri: 'https://user:pw@git.example/hello.git', vcsId: 'v2.10' }),
      backend: new DryRunBackend(),
      buildroot,
      fetch: { dryRun: true },
      chrootsDir: dirs.make('bb-chroots-'),
    });
    expect(r).toMatchObject({ category: 'OK', files: [] });
    const text = readFileSync(r.logPath!, 'utf8');
    expect(text).toContain('RUN: git clone --quiet -- https://git.example/hello.git');
    expect(text).not.toContain('user:pw');
    expect(text).toMatch(/RUN: sbuild --chroot-mode=unshare -d unstable --arch=\S+ --nolog .* -A -s .*hello_2\.10-3\.dsc/);
  });
});
