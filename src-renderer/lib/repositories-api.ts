// Calls for the Repositories screen: webhook sources (/api/v1/repositories, administrators) and
// the apt repositories the controller publishes (/api/v1/repo and apt's own files under /repo/).
// Each takes the connection's Http (`api.http`).
import {
  RepositoryCreated,
  RepositoryList,
  RepositorySecret,
  hooksRoutes,
  type RepositoryCreate,
  type RepositoryInfo,
} from '@shared/hooks-api';
import { RepoDistributions, RepoListing, indexFiles, releaseIndices, repoRoutes, signatureIssuer, type IndexFile } from '@shared/repo-api';
import { ApiError, type Http } from './http';

const repositoryPath = (name: string) => hooksRoutes.repository.replace(':name', encodeURIComponent(name));

export async function listRepositories(http: Http, signal?: AbortSignal): Promise<RepositoryInfo[]> {
  const body = await http.json<unknown>('GET', hooksRoutes.repositories, { auth: true, signal });
  return RepositoryList.parse(body).items;
}

export async function createRepository(http: Http, body: RepositoryCreate): Promise<RepositoryCreated> {
  return RepositoryCreated.parse(await http.json<unknown>('POST', hooksRoutes.repositories, { json: body, auth: true }));
}

export async function deleteRepository(http: Http, name: string): Promise<void> {
  await http.raw('DELETE', repositoryPath(name), { auth: true });
}

/** A new secret for the repository; the old one stops working at once. */
export async function rotateSecret(http: Http, name: string): Promise<RepositorySecret> {
  const path = hooksRoutes.repositorySecret.replace(':name', encodeURIComponent(name));
  return RepositorySecret.parse(await http.json<unknown>('POST', path, { auth: true }));
}

export async function listDistributions(http: Http, signal?: AbortSignal): Promise<RepoDistributions> {
  return RepoDistributions.parse(await http.get<unknown>(repoRoutes.distributions, undefined, signal));
}

export async function repoListing(http: Http, dist: string, signal?: AbortSignal): Promise<RepoListing> {
  return RepoListing.parse(await http.get<unknown>(repoRoutes.listing(dist), undefined, signal));
}

/** What apt sees of one suite: its signing key (null: unsigned) and the files of each package. */
export interface SuiteIndex {
  signed: boolean;
  /** Fingerprint or key id of the key that signed InRelease. */
  signer: string | null;
  files: IndexFile[];
}

async function text(http: Http, path: string, signal?: AbortSignal): Promise<string | null> {
  try {
    return await (await http.raw('GET', path, { signal })).text();
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/**
 * Reads dists/<suite>/Release and the indices it lists, as apt would: the listing API gives
 * names and versions, the indices give the pool paths of the .deb and .dsc files. InRelease
 * exists only when the controller signs its repositories.
 */
export async function suiteIndex(http: Http, dist: string, suite: string, signal?: AbortSignal): Promise<SuiteIndex> {
  const inRelease = await text(http, repoRoutes.file(dist, `dists/${suite}/InRelease`), signal);
  const release = inRelease ?? (await text(http, repoRoutes.file(dist, `dists/${suite}/Release`), signal)) ?? '';
  const files: IndexFile[] = [];
  for (const index of releaseIndices(release)) {
    const body = await text(http, repoRoutes.file(dist, `dists/${suite}/${index}`), signal);
    if (body) files.push(...indexFiles(body, index.endsWith('/Sources') ? 'Sources' : 'Packages'));
  }
  return { signed: inRelease !== null, signer: inRelease ? signatureIssuer(inRelease) : null, files };
}

/** The absolute URL of a file under a distribution's published tree. */
export function repoFileUrl(http: Http, dist: string, path: string): string {
  return http.url(repoRoutes.file(dist, path));
}

/** The keyring file an apt sources line names for a signed repository. */
export function keyringPath(dist: string): string {
  return `/usr/share/keyrings/buildbox-${dist.toLowerCase()}.gpg`;
}

/** The one-line sources.list entry for a suite: signed-by the keyring, or trusted when unsigned. */
export function aptSourcesLine(url: string, dist: string, suite: string, signed: boolean): string {
  return `deb [${signed ? `signed-by=${keyringPath(dist)}` : 'trusted=yes'}] ${url} ${suite} main`;
}
