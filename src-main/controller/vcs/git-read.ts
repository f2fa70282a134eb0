// Reads debian/changelog and debian/control of one commit of a remote git repository without a
// working tree: fetch that commit into a throwaway bare repository, then `git show`. Used by the
// push webhooks (the package at the pushed commit) and by `buildbox submit --git`.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDebianSource, type DebianSourceInfo } from '@shared/debian-source';

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
  close(): Promise<void>;
}

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

/** The package in `subdir` ('' = the repository root) at `ref`. Parse errors are DebianSourceErrors. */
export async function readDebianAtRevision(url: string, ref: string, subdir = ''): Promise<DebianAtRevision> {
  const rev = await fetchRevision(url, ref);
  try {
    const base = subdir ? `${subdir.replace(/\/+$/, '')}/debian` : 'debian';
    const changelog = await rev.show(`${base}/changelog`);
    if (changelog === null) throw new GitReadError(`${url} at ${rev.commit.slice(0, 12)}: no ${base}/changelog`);
    const control = await rev.show(`${base}/control`);
    if (control === null) throw new GitReadError(`${url} at ${rev.commit.slice(0, 12)}: no ${base}/control`);
    return { commit: rev.commit, ...readDebianSource(changelog, control, base) };
  } finally {
    await rev.close();
  }
}
