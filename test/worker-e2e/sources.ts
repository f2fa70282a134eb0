// Source packages for the end-to-end tests, served over local HTTP: as git repositories (dumb
// HTTP protocol) and as .dsc URLs.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeGitRepo, makeSourcePackage, writeSourceTree, type PackageSpec } from '../fixtures/make-package';
import { serveDirectory, type StaticServer } from '../fixtures/static-server';

export interface ServedGit {
  name: string;
  version: string;
  marker: string;
  uri: string;
  commit: string;
  tree: string;
  bare: string;
}

export interface ServedDsc {
  name: string;
  version: string;
  marker: string;
  uri: string;
  /** Source package files (the .dsc and its tarball). */
  files: string[];
}

export class SourceServer {
  private constructor(
    private readonly root: string,
    readonly server: StaticServer,
  ) {}

  static async start(root: string): Promise<SourceServer> {
    return new SourceServer(root, await serveDirectory(root));
  }

  /** `slowSeconds`: the build step also sleeps this long (a build that is still running when a test acts). */
  git(spec: PackageSpec & { name: string; slowSeconds?: number | string }): ServedGit {
    const t = writeSourceTree(join(this.root, 'trees'), spec);
    if (spec.slowSeconds) {
      const rules = join(t.tree, 'debian', 'rules');
      writeFileSync(rules, readFileSync(rules, 'utf8').replace('\ttouch built-stamp', `\tsleep ${spec.slowSeconds}\n\ttouch built-stamp`));
    }
    const repo = makeGitRepo(t.tree, this.root, t.name);
    return { name: t.name, version: t.version, marker: t.marker, uri: `${this.server.url}/${t.name}.git`, commit: repo.commit, tree: t.tree, bare: repo.bare };
  }

  dsc(spec: PackageSpec & { name: string }): ServedDsc {
    const dir = join(this.root, 'dsc', spec.name);
    const p = makeSourcePackage(dir, spec);
    return { name: p.name, version: p.version, marker: p.marker, uri: `${this.server.url}/dsc/${spec.name}/${p.name}_${p.version}.dsc`, files: p.files };
  }

  /** Commits a change to the packaged tree and publishes it (new branch head). */
  static dropBuildDepends(g: ServedGit): void {
    const control = join(g.tree, 'debian', 'control');
    writeFileSync(control, readFileSync(control, 'utf8').replace(/^Build-Depends:.*\n/m, ''));
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', args, {
        cwd,
        stdio: 'pipe',
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t.invalid' },
      });
    git(g.tree, 'commit', '-q', '-a', '-m', 'drop the build dependency');
    git(g.tree, 'push', '-q', g.bare, 'main');
    git(g.bare, 'update-server-info');
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
