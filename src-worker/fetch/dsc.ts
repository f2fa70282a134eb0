// dsc: the transport URI is the URL of a .dsc (for example in the controller's librarian).
// Download it and every file it lists from the same directory, verifying sizes and checksums.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSafeFileName, parseControlFile, type ListedFile } from '../debian/control-files';
import { runCommand } from '../run-command';
import { DownloadError, downloadFile, type Downloaded } from './http-download';
import { FetchError, type FetchContext, type Fetcher, type FetchedSource, type SourceRequest } from './fetcher';

/** Which listed checksum did not match, if any (sizes and every digest the .dsc gives). */
export function checksumMismatch(listed: ListedFile, got: Downloaded): string | null {
  if (listed.size !== got.size) return `size ${got.size}, expected ${listed.size}`;
  if (listed.sha256 && listed.sha256 !== got.sha256) return 'SHA-256 mismatch';
  if (listed.sha1 && listed.sha1 !== got.sha1) return 'SHA-1 mismatch';
  if (listed.md5 && listed.md5 !== got.md5) return 'MD5 mismatch';
  return null;
}

export class DscFetcher implements Fetcher {
  readonly method = 'dsc';

  async fetch(req: SourceRequest, ctx: FetchContext): Promise<FetchedSource> {
    if (!req.uri) throw new FetchError('dsc transport without a uri');
    let url: URL;
    try {
      url = new URL(req.uri);
    } catch {
      throw new FetchError(`not a URL: ${JSON.stringify(req.uri)}`);
    }
    const name = decodeURIComponent(url.pathname.split('/').pop() ?? '');
    if (!name.endsWith('.dsc') || !isSafeFileName(name)) throw new FetchError(`the dsc transport URI must name a .dsc file`);
    const dscPath = join(ctx.dir, name);
    if (ctx.dryRun) {
      ctx.log.write(`DOWNLOAD (dry run, not fetched): ${url.origin}${url.pathname}\n`);
      return { dsc: dscPath };
    }
    const get = async (u: URL, dest: string, signal = ctx.signal) => {
      try {
        return await downloadFile(u, dest, { log: ctx.log, signal });
      } catch (err) {
        const e = err as DownloadError;
        throw new FetchError(e.message, e.aborted === true);
      }
    };

    await get(url, dscPath);
    let files: ListedFile[];
    try {
      files = parseControlFile(readFileSync(dscPath, 'utf8')).files;
    } catch (err) {
      throw new FetchError(`${name} is not a usable .dsc: ${(err as Error).message}`);
    }
    if (!files.length) throw new FetchError(`${name} lists no files`);
    // The listed files all at once (a round trip each is waiting, over a WAN most of all); the
    // first failure stops the others.
    const stopOthers = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stopOthers.signal]);
    const fetchListed = async (f: ListedFile) => {
      // isSafeFileName was checked while parsing: a listed name cannot leave ctx.dir.
      const got = await get(new URL(encodeURIComponent(f.name), url), join(ctx.dir, f.name), signal);
      const bad = checksumMismatch(f, got);
      if (bad) throw new FetchError(`${f.name}: ${bad}`);
    };
    const results = await Promise.allSettled(
      files.map((f) =>
        fetchListed(f).catch((e: unknown) => {
          stopOthers.abort();
          throw e;
        }),
      ),
    );
    // The first real failure, not an abort it caused in the others (unless the build was aborted).
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as FetchError);
    if (failed.length) throw failed.find((e) => !(e instanceof FetchError && e.aborted && !ctx.signal.aborted)) ?? failed[0];
    ctx.log.write(`Fetched ${name} and ${files.length} file(s), checksums verified\n`);
    return { dsc: dscPath };
  }
}
