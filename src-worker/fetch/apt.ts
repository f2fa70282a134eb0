// apt: `apt-get source <pkg>=<version>` from a private apt state (pyBit §5.3), so the worker's
// own apt configuration and lists are neither used nor touched. The sources.list points at
// the transport URI when it is a mirror URL (the intent of pyBit #126, which later code lost),
// else at the configured mirror.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../run-command';
import { FetchError, type FetchContext, type Fetcher, type FetchedSource, type SourceRequest } from './fetcher';
import { assertNotOption, check, expectedDsc, findDsc, runOpts } from './source-tree';

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

const MIRROR_URL = /^(?:(?:mirror|tor)\+)?(?:https?|ftp|file|copy):\/\/\S+$/;

export function mirrorFor(req: SourceRequest, ctx: FetchContext): string {
  return req.uri && MIRROR_URL.test(req.uri) ? req.uri : (ctx.mirror ?? DEFAULT_MIRROR);
}

export function sourcesListLine(mirror: string, suite: string, components: string[], trusted: boolean): string {
  return `deb-src ${trusted ? '[trusted=yes] ' : ''}${mirror} ${suite} ${components.join(' ')}\n`;
}

/** apt options that confine apt to `state` (lists, caches, sources, preferences, status). */
export function privateAptOptions(state: string): string[] {
  const o = (k: string, v: string) => ['-o', `${k}=${v}`];
  return [
    ...o('Dir::State', state),
    ...o('Dir::State::Lists', join(state, 'lists')),
    ...o('Dir::State::status', join(state, 'status')),
    ...o('Dir::Cache', join(state, 'cache')),
    ...o('Dir::Cache::Archives', join(state, 'archives')),
    ...o('Dir::Etc::SourceList', join(state, 'sources.list')),
    ...o('Dir::Etc::SourceParts', join(state, 'sources.list.d')),
    ...o('Dir::Etc::Preferences', join(state, 'preferences')),
    ...o('Dir::Etc::PreferencesParts', join(state, 'preferences.d')),
    ...o('Debug::NoLocking', 'true'),
    // As root, apt downloads as _apt, which cannot enter a private 0700 job directory.
    ...(process.getuid?.() === 0 ? o('APT::Sandbox::User', 'root') : []),
  ];
}

export class AptFetcher implements Fetcher {
  readonly method = 'apt';

  async fetch(req: SourceRequest, ctx: FetchContext): Promise<FetchedSource> {
    const mirror = mirrorFor(req, ctx);
    assertNotOption(mirror, 'apt mirror');
    const state = join(ctx.dir, '.apt');
    for (const d of ['lists/partial', 'archives/partial', 'cache', 'sources.list.d', 'preferences.d']) {
      mkdirSync(join(state, d), { recursive: true });
    }
    writeFileSync(join(state, 'status'), '');
    writeFileSync(
      join(state, 'sources.list'),
      sourcesListLine(mirror, req.suite, ctx.aptComponents ?? ['main'], ctx.aptAllowUnauthenticated === true),
    );
    const opts = privateAptOptions(state);
    check(await runCommand('apt-get', [...opts, '-q', 'update'], runOpts(ctx)), 'apt-get update');
    const want = `${req.package}=${req.version}`;
    assertNotOption(want, 'apt package');
    const r = await runCommand('apt-get', [...opts, '-q', '--download-only', '--only-source', 'source', want], runOpts(ctx, { cwd: ctx.dir }));
    check(r, `apt-get source ${want}`);
    if (ctx.dryRun) return { dsc: expectedDsc(ctx, req) };
    try {
      return { dsc: findDsc(ctx, req) };
    } catch (err) {
      throw err instanceof FetchError ? err : new FetchError((err as Error).message);
    }
  }
}
