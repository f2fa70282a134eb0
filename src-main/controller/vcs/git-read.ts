// Reads debian/changelog and debian/control of one commit of a remote git repository without a
// working tree: fetch that commit into a throwaway bare repository, then `git show`. Used by the
// push webhooks (every package a push changed, in the root or in subdirectories) and by
// `buildbox submit --git` (a URL ending in `#subdir=<path>` reads the package in that directory).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDebianSource, type DebianSourceInfo } from '@shared/debian-source';
import { SourceSubdirError, packageDirOfChangelog, splitSourceUri } from '@shared/source-subdir';

// Never wait for a password prompt: nobody is there to type it.
const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true', LC_ALL: 'C' };

export class GitReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitReadError';
  }
}

function git(cwd: string, args: string[], timeoutMs = 120_000): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env: GIT_ENV, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).pop() ?? '';

export interface GitRevision {
  /** The full commit id that was read. */
  commit: string;
  /** Reads a file at that commit; null when the commit has no such file. */
  show(path: string): Promise<string | null>;
  /** Every file path in that commit's tree. */
  files(): Promise<string[]>;
  /**
   * The paths that differ between `other` (an earlier commit, fetched from the same URL) and
   * this commit; null when `other` cannot be had (gone after a force push, say).
   */
  changedSince(other: string): Promise<string[] | null>;
  close(): Promise<void>;
}

const nulList = (s: string) => s.split('\0').filter(Boolean);

/**
 * Fetches `ref` (a branch, tag or commit id; empty = the remote HEAD) from `url`. Tries a
 * shallow fetch first; servers that cannot do that (git's dumb HTTP protocol) get a full one.
 */
export async function fetchRevision(url: string, ref: string): Promise<GitRevision> {
  if (!url || url.startsWith('-')) throw new GitReadError(`not a repository URL: '${url.slice(0, 100)}'`);
  if (ref.startsWith('-') || /\s/.test(ref)) throw new GitReadError(`not a git revision: '${ref.slice(0, 100)}'`);
  const dir = await mkdtemp(join(tmpdir(), 'buildbox-git-'));
  const close = () => rm(dir, { recursive: true, force: true });
  try {
    const init = await git(dir, ['init', '-q', '--bare']);
    if (!init.ok) throw new GitReadError(`git init: ${lastLine(init.stderr)}`);
    const want = ref || 'HEAD';
    let r = await git(dir, ['fetch', '-q', '--depth=1', '--', url, want]);
    if (!r.ok) r = await git(dir, ['fetch', '-q', '--', url, want]);
    let commit: string | null = null;
    if (r.ok) {
      const rev = await git(dir, ['rev-parse', '--verify', '-q', 'FETCH_HEAD^{commit}']);
      if (rev.ok) commit = rev.stdout.trim();
    } else if (/^[0-9a-f]{7,64}$/i.test(ref)) {
      // A commit id that the server will not hand out by name: fetch every branch and tag.
      r = await git(dir, ['fetch', '-q', '--tags', '--', url, '+refs/heads/*:refs/heads/*']);
      if (r.ok) {
        const rev = await git(dir, ['rev-parse', '--verify', '-q', `${ref}^{commit}`]);
        if (rev.ok) commit = rev.stdout.trim();
        else throw new GitReadError(`${url}: no commit ${ref}`);
      }
    }
    if (!commit) throw new GitReadError(`git fetch ${url} ${want}: ${lastLine(r.stderr) || 'failed'}`);
    const sha = commit;
    return {
      commit: sha,
      async show(path) {
        const s = await git(dir, ['show', `${sha}:${path}`]);
        return s.ok ? s.stdout : null;
      },
      async files() {
        const s = await git(dir, ['ls-tree', '-r', '-z', '--name-only', sha]);
        if (!s.ok) throw new GitReadError(`git ls-tree ${sha.slice(0, 12)}: ${lastLine(s.stderr)}`);
        return nulList(s.stdout);
      },
      async changedSince(other) {
        if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(other)) return null;
        const have = async () => (await git(dir, ['rev-parse', '--verify', '-q', `${other}^{commit}`])).ok;
        // A full fetch may have brought it already. Otherwise both commits shallow: diff-tree
        // compares their trees and needs no history between them.
        if (!(await have())) {
          const f = await git(dir, ['fetch', '-q', '--depth=1', '--', url, other]);
          if (!f.ok) await git(dir, ['fetch', '-q', '--', url, other]);
          if (!(await have())) return null;
        }
        const d = await git(dir, ['diff-tree', '-r', '-z', '--name-only', '--no-commit-id', other, sha]);
        return d.ok ? nulList(d.stdout) : null;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export interface DebianAtRevision extends DebianSourceInfo {
  commit: string;
}

function splitUri(uri: string): { repository: string; subdir: string } {
  try {
    return splitSourceUri(uri);
  } catch (e) {
    if (e instanceof SourceSubdirError) throw new GitReadError(`${uri.slice(0, 200)}: ${e.message}`);
    throw e;
  }
}

async function readPackage(rev: GitRevision, url: string, subdir: string): Promise<DebianAtRevision> {
  const base = subdir ? `${subdir}/debian` : 'debian';
  const changelog = await rev.show(`${base}/changelog`);
  if (changelog === null) throw new GitReadError(`${url} at ${rev.commit.slice(0, 12)}: no ${base}/changelog`);
  const control = await rev.show(`${base}/control`);
  if (control === null) throw new GitReadError(`${url} at ${rev.commit.slice(0, 12)}: no ${base}/control`);
  return { commit: rev.commit, ...readDebianSource(changelog, control, base) };
}

/**
 * The package in `subdir` at `ref`; without `subdir`, the one a `#subdir=<path>` fragment of
 * `uri` names, else the repository root's. Parse errors are DebianSourceErrors.
 */
export async function readDebianAtRevision(uri: string, ref: string, subdir = ''): Promise<DebianAtRevision> {
  const split = splitUri(uri);
  const dir = (subdir || split.subdir).replace(/\/+$/, '');
  const rev = await fetchRevision(split.repository, ref);
  try {
    return await readPackage(rev, split.repository, dir);
  } finally {
    await rev.close();
  }
}

export interface PushedPackage extends DebianAtRevision {
  /** The package's directory in the repository; '' = the root. */
  subdir: string;
}

/**
 * The packages a push from `before` to `after` touched: every directory holding a
 * debian/changelog (the root, or `<dir>/debian/changelog` at any depth) in which a file
 * changed; the root package counts as touched by any change. When the earlier commit is unknown
 * (a new branch) or cannot be fetched any more, every package at `after` is taken. A `#subdir=`
 * fragment of `uri` restricts this to that one directory. Every package is read before any is
 * returned, so one unreadable changelog refuses the whole push. Parse errors are DebianSourceErrors.
 */
export async function readPushedPackages(uri: string, before: string | null, after: string): Promise<PushedPackage[]> {
  const split = splitUri(uri);
  const rev = await fetchRevision(split.repository, after);
  try {
    let dirs: string[];
    if (split.subdir) dirs = [split.subdir];
    else {
      dirs = [];
      for (const f of await rev.files()) {
        const d = packageDirOfChangelog(f);
        if (d !== null && !dirs.includes(d)) dirs.push(d);
      }
      if (!dirs.length) throw new GitReadError(`${split.repository} at ${rev.commit.slice(0, 12)}: no debian/changelog, in the root or in any subdirectory`);
    }
    // The root package is taken on every push: only packages in subdirectories need the diff.
    const changed = before && before !== rev.commit && dirs.some((d) => d !== '') ? await rev.changedSince(before) : null;
    if (changed) dirs = dirs.filter((d) => d === '' || changed.some((p) => p.startsWith(`${d}/`)));
    dirs.sort();
    const out: PushedPackage[] = [];
    for (const d of dirs) out.push({ subdir: d, ...(await readPackage(rev, split.repository, d)) });
    return out;
  } finally {
    await rev.close();
  }
}
