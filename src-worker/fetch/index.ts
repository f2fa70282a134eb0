// Picks the fetcher for a transport method.
import { AptFetcher } from './apt';
import { DscFetcher } from './dsc';
import { FetchError, type FetchContext, type Fetcher, type FetchedSource, type SourceRequest } from './fetcher';
import { GitFetcher } from './git';
import { SvnFetcher } from './svn';

export { FetchError } from './fetcher';
export type { FetchContext, FetchedSource, Fetcher, SourceRequest } from './fetcher';

const fetchers = new Map<string, Fetcher>([new GitFetcher(), new SvnFetcher(), new AptFetcher(), new DscFetcher()].map((f) => [f.method, f]));

export function fetcherFor(method: string): Fetcher {
  const f = fetchers.get(method);
  // pyBit's handlers answer "wrong_method"; we say which methods exist.
  if (!f) throw new FetchError(`wrong_method: no fetcher for transport method "${method}" (known: ${[...fetchers.keys()].join(', ')})`);
  return f;
}

export async function fetchSource(req: SourceRequest, ctx: FetchContext): Promise<FetchedSource> {
  return fetcherFor(req.method).fetch(req, ctx);
}
