// One reprepro repository per distribution under <dataDir>/repo/<dist>, one codename per suite.
// Every operation on a repository runs after the previous one finished (reprepro takes a lock and
// gives up when another run holds it).
import { existsSync } from 'node:fs';
import { indexFiles, signatureIssuer } from '@shared/repo-api';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked, type CommandRunner } from './command-runner';
import type { Signer } from './signer';

export interface SuiteArches {
  suite: string;
  arches: string[];
}

export interface RepoEntry {
  suite: string;
  component: string;
  package: string;
  version: string;
  arch: string;
  /** The .deb (or, for a source, the .dsc) relative to the repository's root. */
  path: string;
}

/** How a suite's index is signed: `signer` is the key's fingerprint read from InRelease. */
export interface SuiteSigning {
  signed: boolean;
  signer: string | null;
}

/** Distribution names become directory names: letters, digits and `._+-` only. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function isSafeName(s: string): boolean {
  return SAFE_NAME.test(s) && !s.includes('..');
}

export function distributionsConf(suites: SuiteArches[], signWith?: string): string {
  return suites
    .filter((s) => isSafeName(s.suite))
    .map((s) => {
      const arches = [...new Set(s.arches.filter(isSafeName))].sort();
      const lines = [`Codename: ${s.suite}`, `Suite: ${s.suite}`, `Architectures: ${[...arches, 'source'].join(' ')}`, 'Components: main', `Description: Buildbox packages for ${s.suite}`];
      if (signWith) lines.push(`SignWith: ${signWith}`);
      return lines.join('\n') + '\n';
    })
    .join('\n');
}

export class RepreproRepos {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    readonly root: string,
    private readonly runner: CommandRunner,
    private readonly signer: Signer | null,
  ) {}

  base(dist: string): string {
    if (!isSafeName(dist)) throw new Error(`distribution name '${dist}' cannot name a repository directory`);
    return join(this.root, dist);
  }

  exists(dist: string): boolean {
    return isSafeName(dist) && existsSync(join(this.root, dist, 'conf', 'distributions'));
  }

  /** Runs `task` once every earlier task on the same repository has finished. */
  serial<T>(dist: string, task: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(dist) ?? Promise.resolve();
    const next = prev.then(task, task);
    const settled = next.catch(() => undefined);
    this.chains.set(dist, settled);
    void settled.then(() => {
      if (this.chains.get(dist) === settled) this.chains.delete(dist);
    });
    return next;
  }

  private env(): NodeJS.ProcessEnv {
    return this.signer?.env() ?? {};
  }

  /** Writes conf/distributions (only when it changed) and exports new codenames. Call inside serial(). */
  private async configure(dist: string, suites: SuiteArches[]): Promise<void> {
    const base = this.base(dist);
    await mkdir(join(base, 'conf'), { recursive: true });
    const file = join(base, 'conf', 'distributions');
    const want = distributionsConf(suites, this.signer?.opts.keyId);
    const have = existsSync(file) ? await readFile(file, 'utf8') : null;
    if (have === want) return;
    await writeFile(file, want);
    await runChecked(this.runner, 'reprepro', ['-b', base, 'export'], { env: this.env() });
  }

  /** Includes a build's .changes into the suite's codename; a replay of the same upload is a no-op. */
  include(dist: string, suites: SuiteArches[], suite: string, changesPath: string): Promise<void> {
    return this.serial(dist, async () => {
      await this.configure(dist, suites);
      // .buildinfo files are listed in .changes but are not part of an apt repository.
      const r = await this.runner.run('reprepro', ['-b', this.base(dist), '--ignore=wrongdistribution', 'include', suite, changesPath], { env: this.env() });
      if (r.code === 0) return;
      const out = `${r.stderr}\n${r.stdout}`;
      // Already there with the same bytes: reprepro reports it but the repository is as wanted.
      if (/already registered with (the )?same|is already registered/i.test(out) && !/different/i.test(out)) return;
      throw new Error(`reprepro include exited with ${r.code}: ${out.trim().slice(-2000)}`);
    });
  }

  /**
   * Everything the repository holds, per suite, read from the exported indices (Packages and
   * Sources) rather than through reprepro, so a listing never waits for or fails on its lock.
   */
  async list(dist: string): Promise<{ suites: string[]; entries: RepoEntry[]; signing: Record<string, SuiteSigning> }> {
    const base = this.base(dist);
    const conf = await readFile(join(base, 'conf', 'distributions'), 'utf8');
    const codenames = [...conf.matchAll(/^Codename:\s*(\S+)/gm)].map((m) => m[1]!);
    const out: RepoEntry[] = [];
    const signing: Record<string, SuiteSigning> = {};
    for (const suite of codenames) {
      const comps = join(base, 'dists', suite);
      // InRelease exists only when the repository is signed.
      const inRelease = await readFile(join(comps, 'InRelease'), 'utf8').catch(() => null);
      signing[suite] = { signed: inRelease !== null, signer: inRelease === null ? null : signatureIssuer(inRelease) };
      for (const component of await readdir(comps).catch(() => [] as string[])) {
        for (const sub of await readdir(join(comps, component)).catch(() => [] as string[])) {
          const index = sub === 'source' ? 'Sources' : sub.startsWith('binary-') ? 'Packages' : null;
          if (!index) continue;
          const text = await readFile(join(comps, component, sub, index), 'utf8').catch(() => '');
          for (const f of indexFiles(text, index)) {
            out.push({ suite, component, package: f.package, version: f.version, arch: index === 'Sources' ? 'source' : f.arch || sub.slice('binary-'.length), path: f.path });
          }
        }
      }
    }
    // An Architecture: all package appears in every binary index; list it once.
    const seen = new Set<string>();
    return { suites: codenames, entries: out.filter((e) => !seen.has(JSON.stringify(e)) && !!seen.add(JSON.stringify(e))), signing };
  }

}
