// Calls for the Repositories screen: webhook sources (/api/v1/repositories, administrators) and
// the apt repositories the controller publishes (/api/v1/repo, with links into /repo/).
// Each takes the connection's Http (`api.http`).
import {
  RepositoryCreated,
  RepositoryList,
  RepositorySecret,
  hooksRoutes,
  type RepositoryCreate,
  type RepositoryInfo,
} from '@shared/hooks-api';
import { RepoDistributions, RepoListing, repoRoutes } from '@shared/repo-api';
import type { Http } from './http';

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
