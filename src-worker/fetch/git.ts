// git: clone, then check out vcs_id (pyBit §5.3). Unlike pyBit, whose `clone; checkout`
// chaining hid a failed clone, every step must succeed. A URI ending in `#subdir=<path>` names
// a package kept in that directory of the repository: the whole repository is cloned and the
// source package is built from the directory.
import { join } from 'node:path';
import { SourceSubdirError, splitSourceUri } from '@shared/source-subdir';
import { runCommand } from '../run-command';
import { FetchError, type FetchContext, type Fetcher, type FetchedSource, type SourceRequest } from './fetcher';
import { assertNotOption, buildSourcePackage, check, packageDirIn, runOpts } from './source-tree';

// Never wait for a password prompt: a build worker has nobody to type it.
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true' };

/** The repository URL and package directory of a transport URI, as FetchErrors when unusable. */
export function sourceUri(uri: string): { repository: string; subdir: string } {
  try {
    return splitSourceUri(uri);
  } catch (e) {
    if (e instanceof SourceSubdirError) throw new FetchError(e.message);
    throw e;
  }
}

export class GitFetcher implements Fetcher {
  readonly method = 'git';

  async fetch(req: SourceRequest, ctx: FetchContext): Promise<FetchedSource> {
    if (!req.uri) throw new FetchError('git transport without a uri');
    const { repository, subdir } = sourceUri(req.uri);
    assertNotOption(repository, 'git uri');
    const checkout = join(ctx.dir, req.package);
    check(await runCommand('git', ['clone', '--quiet', '--', repository, checkout], runOpts(ctx, { env: GIT_ENV })), 'git clone');
    if (req.vcsId) {
      assertNotOption(req.vcsId, 'git revision');
      check(
        await runCommand('git', ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', req.vcsId], runOpts(ctx, { cwd: checkout, env: GIT_ENV })),
        `git checkout ${req.vcsId}`,
      );
    }
    const tree = packageDirIn(checkout, subdir, ctx, req.vcsId ? `at ${req.vcsId}` : 'at the default branch head');
    return { dsc: await buildSourcePackage(tree, ctx, req) };
  }
}
