// svn: `svn export <uri>@<vcs_id> <dir>` (pyBit §5.3), then dpkg-source -b.
import { join } from 'node:path';
import { runCommand } from '../run-command';
import { FetchError, type FetchContext, type Fetcher, type FetchedSource, type SourceRequest } from './fetcher';
import { assertNotOption, buildSourcePackage, check, runOpts } from './source-tree';

export class SvnFetcher implements Fetcher {
  readonly method = 'svn';

  async fetch(req: SourceRequest, ctx: FetchContext): Promise<FetchedSource> {
    if (!req.uri) throw new FetchError('svn transport without a uri');
    assertNotOption(req.uri, 'svn uri');
    if (req.vcsId && !/^(\d+|HEAD|BASE|COMMITTED|PREV|\{[^}]+\})$/.test(req.vcsId)) {
      throw new FetchError(`not an svn revision: ${JSON.stringify(req.vcsId)}`);
    }
    const tree = join(ctx.dir, req.package);
    const target = req.vcsId ? `${req.uri}@${req.vcsId}` : req.uri;
    check(await runCommand('svn', ['export', '--non-interactive', '--quiet', target, tree], runOpts(ctx)), 'svn export');
    return { dsc: await buildSourcePackage(tree, ctx, req) };
  }
}
