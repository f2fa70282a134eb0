// svn: `svn export <uri>@<vcs_id> <dir>` (pyBit §5.3), then dpkg-source -b. A package in a
// subdirectory is usually named by its URL (svn's own way, what the post-commit hook sends);
// a `#subdir=<path>` fragment, as git URIs carry it, is accepted too and joined onto the URL.
import { join } from 'node:path';
import { runCommand } from '../run-command';
import { FetchError, type FetchContext, type Fetcher, type FetchedSource, type SourceRequest } from './fetcher';
import { sourceUri } from './git';
import { assertNotOption, buildSourcePackage, check, runOpts } from './source-tree';

export class SvnFetcher implements Fetcher {
  readonly method = 'svn';

  async fetch(req: SourceRequest, ctx: FetchContext): Promise<FetchedSource> {
    if (!req.uri) throw new FetchError('svn transport without a uri');
    const { repository, subdir } = sourceUri(req.uri);
    assertNotOption(repository, 'svn uri');
    if (req.vcsId && !/^(\d+|HEAD|BASE|COMMITTED|PREV|\{[^}]+\})$/.test(req.vcsId)) {
      throw new FetchError(`not an svn revision: ${JSON.stringify(req.vcsId)}`);
    }
    // Each segment percent-encoded: an '@' in a directory name must not read as a peg revision.
    const url = subdir ? `${repository.replace(/\/+$/, '')}/${subdir.split('/').map(encodeURIComponent).join('/')}` : repository;
    const tree = join(ctx.dir, req.package);
    const target = req.vcsId ? `${url}@${req.vcsId}` : url;
    check(await runCommand('svn', ['export', '--non-interactive', '--quiet', target, tree], runOpts(ctx)), 'svn export');
    return { dsc: await buildSourcePackage(tree, ctx, req) };
  }
}
