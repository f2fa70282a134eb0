// A package kept in a subdirectory of a git or svn repository. The directory travels in the
// transport URI's fragment, `<repository URL>#subdir=<path>`, so the pyBit wire format, the
// buildrequest table and every pyBit client stay as they are: a client that knows nothing of
// subdirectories never sends a fragment, and an old pyBit worker handed one fails its checkout
// instead of quietly building the repository root. The path is percent-encoded like a query
// value ('+' as %2B); svn hooks may instead put the directory in the URL path, svn's own way.

/** Transport methods whose URI names a repository that may hold packages in subdirectories. */
export const SUBDIR_METHODS: ReadonlySet<string> = new Set(['git', 'svn']);

export class SourceSubdirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceSubdirError';
  }
}

const MAX_SUBDIR = 1000;

/** Why `path` is not a usable package directory (relative, inside the repository), or null. */
export function subdirProblem(path: string): string | null {
  if (!path) return 'the subdirectory is empty';
  if (path.length > MAX_SUBDIR) return `the subdirectory is longer than ${MAX_SUBDIR} characters`;
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'the subdirectory contains a control character';
  if (path.startsWith('/')) return `the subdirectory must be relative to the repository root, got '${path.slice(0, 100)}'`;
  for (const seg of path.split('/')) {
    if (seg === '') return `the subdirectory has an empty path segment: '${path.slice(0, 100)}'`;
    if (seg === '.' || seg === '..') return `the subdirectory must not contain '${seg}' segments: '${path.slice(0, 100)}'`;
  }
  return null;
}

export interface SourceUri {
  /** The repository URL, without the fragment. */
  repository: string;
  /** The package's directory relative to the repository root; '' = the root. */
  subdir: string;
}

/** Splits `<repository>#subdir=<path>`; a URI without a fragment is the repository root. */
export function splitSourceUri(uri: string): SourceUri {
  const hash = uri.indexOf('#');
  if (hash < 0) return { repository: uri, subdir: '' };
  const repository = uri.slice(0, hash);
  const params = new URLSearchParams(uri.slice(hash + 1));
  const keys = [...params.keys()];
  if (keys.length !== 1 || keys[0] !== 'subdir') {
    throw new SourceSubdirError(`the URI fragment may only be 'subdir=<path>' (a package's directory in the repository), got '#${uri.slice(hash + 1, hash + 101)}'`);
  }
  if (!repository) throw new SourceSubdirError('the URI names no repository before its #subdir= fragment');
  const subdir = params.get('subdir')!;
  const bad = subdirProblem(subdir);
  if (bad) throw new SourceSubdirError(bad);
  return { repository, subdir };
}

/** The transport URI of the package in `subdir` ('' = the root) of `repository`. */
export function withSubdir(repository: string, subdir: string): string {
  if (!subdir) return repository;
  const bad = subdirProblem(subdir);
  if (bad) throw new SourceSubdirError(bad);
  return `${repository}#subdir=${encodeURIComponent(subdir).replace(/%2F/g, '/')}`;
}

/**
 * The package directory ('' = the root) whose debian/changelog `path` is, or null when `path`
 * is no package's changelog. A changelog inside another package's debian/ directory (test
 * data, say) names no package.
 */
export function packageDirOfChangelog(path: string): string | null {
  const p = path.replace(/^\/+|\/+$/g, '');
  if (p === 'debian/changelog') return '';
  if (!p.endsWith('/debian/changelog')) return null;
  const dir = p.slice(0, -'/debian/changelog'.length);
  if (dir.split('/').includes('debian') || subdirProblem(dir)) return null;
  return dir;
}
