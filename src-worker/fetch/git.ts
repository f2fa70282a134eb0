// git: clone, then check out vcs_id (pyBit §5.3). Unlike pyBit, whose `clone; checkout`
// chaining hid a failed clone, every step must succeed.
import { join } from 'node:path';
import { runCommand } from '../run-command';
import { FetchError, type FetchContext, type Fetcher, type FetchedSource, type SourceRequest } from './fetcher';
import { assertNotOption, buildSourcePackage, check, runOpts } from './source-tree';

// Never wait for a password prompt: a build worker has nobody to type it.
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true' };

export class GitFetcher implements Fetcher {
  readonly method = 'git';

  async fetch(req: SourceRequest, ctx: FetchContext): Promise<FetchedSource> {
    if (!req.uri) throw new FetchError('git transport without a uri');
    assertNotOption(req.uri, 'git uri');
    const tree = join(ctx.dir, req.package);
    check(await runCommand('git', ['clone', '--quiet', '--', req.uri, tree], runOpts(ctx, { env: GIT_ENV })), 'git clone');
    if (req.vcsId) {
      assertNotOption(req.vcsId, 'git revision');
      check(
        await runCommand('git', ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', req.vcsId], runOpts(ctx, { cwd: tree, env: GIT_ENV })),
        `git checkout ${req.vcsId}`,
      );
    }
    return { dsc: await buildSourcePackage(tree, ctx, req) };
  }
}
