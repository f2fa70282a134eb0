// pyBit's `architecture_list` (spec/pybit.md §3.4) is matched by substring on the raw
// string, so "linux-any" counts as both "any" and an explicit list, and an arch named
// `arm` is selected by "armel" (§9.1 bug 6). Here the list is parsed into tokens and
// every token must mean something exact; a typo is an error rather than a silent
// zero-job or wrong-arch submission.
//
// Result semantics:
// * {kind:'any'}: every arch the suite builds for. Produced by `any` and by wildcards
//   that match every architecture (`any-any`, ...). `linux-any` is also 'any' as long
//   as every known arch is a Linux one, which is the normal case for a farm; once a
//   non-Linux arch (hurd-i386, kfreebsd-amd64, ...) is known, `linux-any` expands to
//   the explicit list of Linux arches so it cannot select the others.
// * {kind:'all'}: only `all` tokens: an arch-independent package, built once per build
//   env by its master arch.
// * {kind:'explicit'}: named arches plus the known arches matched by narrower wildcards
//   (`any-i386`, `kfreebsd-any`, `musl-any-any`), in first-seen order. An `all` next
//   to arch-specific tokens adds nothing: the master among the selected arches builds
//   the arch-independent binaries anyway, which is also why pyBit's `all,any` is 'any'.

export type ArchSelection = { kind: 'all' } | { kind: 'any' } | { kind: 'explicit'; arches: string[] };

export type ArchListResult = { ok: true; selection: ArchSelection } | { ok: false; error: string };

type Tuple = [abi: string, libc: string, os: string, cpu: string];

// dpkg's /usr/share/dpkg/tupletable, most specific rows first (the order dpkg uses).
// Wildcards match on these tuples, not on names: `armel` is eabi-gnu-linux-arm, so
// `any-arm` selects armel and armhf, and `any-i386` selects hurd-i386 too.
const TUPLE_TABLE: ReadonlyArray<[tuple: string, name: string]> = [
  ['eabi-uclibc-linux-arm', 'uclibc-linux-armel'],
  ['base-uclibc-linux-<cpu>', 'uclibc-linux-<cpu>'],
  ['eabihf-musl-linux-arm', 'musl-linux-armhf'],
  ['base-musl-linux-<cpu>', 'musl-linux-<cpu>'],
  ['ilp32-gnu-linux-arm64', 'arm64ilp32'],
  ['eabihf-gnu-linux-arm', 'armhf'],
  ['eabi-gnu-linux-arm', 'armel'],
  ['abin32-gnu-linux-mips64r6el', 'mipsn32r6el'],
  ['abin32-gnu-linux-mips64r6', 'mipsn32r6'],
  ['abin32-gnu-linux-mips64el', 'mipsn32el'],
  ['abin32-gnu-linux-mips64', 'mipsn32'],
  ['abi64-gnu-linux-mips64r6el', 'mips64r6el'],
  ['abi64-gnu-linux-mips64r6', 'mips64r6'],
  ['abi64-gnu-linux-mips64el', 'mips64el'],
  ['abi64-gnu-linux-mips64', 'mips64'],
  ['spe-gnu-linux-powerpc', 'powerpcspe'],
  ['x32-gnu-linux-amd64', 'x32'],
  ['base-gnu-linux-<cpu>', '<cpu>'],
  ['eabihf-gnu-kfreebsd-arm', 'kfreebsd-armhf'],
  ['base-gnu-kfreebsd-<cpu>', 'kfreebsd-<cpu>'],
  ['base-gnu-knetbsd-<cpu>', 'knetbsd-<cpu>'],
  ['base-gnu-kopensolaris-<cpu>', 'kopensolaris-<cpu>'],
  ['base-gnu-hurd-<cpu>', 'hurd-<cpu>'],
  ['base-bsd-dragonflybsd-<cpu>', 'dragonflybsd-<cpu>'],
  ['base-bsd-freebsd-<cpu>', 'freebsd-<cpu>'],
  ['base-bsd-openbsd-<cpu>', 'openbsd-<cpu>'],
  ['base-bsd-netbsd-<cpu>', 'netbsd-<cpu>'],
  ['base-bsd-darwin-<cpu>', 'darwin-<cpu>'],
  ['base-sysv-aix-<cpu>', 'aix-<cpu>'],
  ['base-sysv-solaris-<cpu>', 'solaris-<cpu>'],
  ['eabi-uclibc-uclinux-arm', 'uclinux-armel'],
  ['base-uclibc-uclinux-<cpu>', 'uclinux-<cpu>'],
  ['base-tos-mint-m68k', 'mint-m68k'],
];

/** The dpkg tuple of an architecture name. */
export function archTuple(arch: string): Tuple {
  for (const [tuple, name] of TUPLE_TABLE) {
    if (!name.includes('<cpu>')) {
      if (name === arch) return tuple.split('-') as Tuple;
      continue;
    }
    const prefix = name.slice(0, -'<cpu>'.length);
    const cpu = arch.slice(prefix.length);
    // dpkg checks the cpu against its cputable; we accept any hyphen-free cpu so that
    // site-specific arch names still work, and the hyphen rule is what keeps
    // `hurd-i386` from being read as a Linux cpu called "hurd-i386".
    if (arch.startsWith(prefix) && cpu !== '' && !cpu.includes('-')) {
      return tuple.replace('<cpu>', cpu).split('-') as Tuple;
    }
  }
  // Unreachable for hyphen-free names; for odd hyphenated names keep the whole name as
  // the cpu so that only the catch-all wildcard can match it.
  return ['base', 'gnu', 'linux', arch];
}

// dpkg's debwildcard_to_debtuple: a wildcard has an `any` part, and shorter forms are
// padded with `any` on the left (`linux-any` = any-any-linux-any).
function wildcardTuple(token: string): Tuple | null {
  const parts = token.split('-');
  if (parts.length > 4 || !parts.includes('any') || parts.some((p) => p === '')) return null;
  if (parts.length === 1) return ['any', 'any', 'any', 'any'];
  return [...Array(4 - parts.length).fill('any'), ...parts] as Tuple;
}

function tupleMatches(wild: Tuple, arch: Tuple): boolean {
  return wild.every((w, i) => w === 'any' || w === arch[i]);
}

const isLinux = (arch: string) => archTuple(arch)[2] === 'linux';

/**
 * Split a token that old hooks produced by stripping spaces ("i386armel") back into
 * known names. Fewest pieces wins; among equals, the one whose earliest pieces are
 * longest, so the answer never depends on the order of `pieces`.
 */
function splitConcatenation(token: string, pieces: readonly string[]): string[] | null {
  const best: Array<string[] | null> = new Array(token.length + 1).fill(null);
  best[token.length] = [];
  for (let i = token.length - 1; i >= 0; i--) {
    for (const p of pieces) {
      if (!token.startsWith(p, i)) continue;
      const rest = best[i + p.length];
      if (rest == null) continue;
      const cand = [p, ...rest];
      const cur = best[i];
      if (cur == null || cand.length < cur.length || (cand.length === cur.length && longerFirst(cand, cur))) {
        best[i] = cand;
      }
    }
  }
  return best[0];
}

function longerFirst(a: string[], b: string[]): boolean {
  for (let k = 0; k < a.length; k++) {
    if (a[k]!.length !== b[k]!.length) return a[k]!.length > b[k]!.length;
  }
  return false;
}

/**
 * Parse a pyBit `architecture_list` ("any", "all,any", "armel i386", "linux-any",
 * "i386armel", ...) against the architectures this controller knows.
 */
export function parseArchList(list: string, knownArches: string[]): ArchListResult {
  const tokens = list.split(/[\s,]+/).filter((t) => t !== '');
  if (tokens.length === 0) return { ok: false, error: 'architecture_list is empty' };

  const known = new Set(knownArches);
  const knownText = knownArches.length > 0 ? knownArches.join(', ') : 'none';
  const allKnownAreLinux = knownArches.every(isLinux);

  // `all` and `any` are accepted inside run-together tokens too ("i386all"), since a
  // hook that strips spaces from "any all" produces exactly that.
  const pieces = [...known, 'all', 'any'].filter((p) => p !== '');

  let sawAll = false;
  let sawAny = false;
  const arches: string[] = [];
  const add = (a: string) => {
    if (!arches.includes(a)) arches.push(a);
  };

  const handle = (token: string): boolean => {
    if (token === 'all') {
      sawAll = true;
      return true;
    }
    if (known.has(token)) {
      add(token);
      return true;
    }
    const wild = wildcardTuple(token);
    if (wild) {
      if (wild.every((w) => w === 'any') || (token === 'linux-any' && allKnownAreLinux)) sawAny = true;
      else for (const a of knownArches) if (tupleMatches(wild, archTuple(a))) add(a);
      return true;
    }
    return false;
  };

  for (const token of tokens) {
    if (handle(token)) continue;
    const split = splitConcatenation(token, pieces);
    if (split == null) return { ok: false, error: `unknown architecture '${token}' (known: ${knownText})` };
    for (const piece of split) handle(piece);
  }

  if (sawAny) return { ok: true, selection: { kind: 'any' } };
  if (arches.length > 0) return { ok: true, selection: { kind: 'explicit', arches } };
  // Only reachable through `all` alone or wildcards that matched nothing here. A package
  // that is arch-indep plus, say, any-s390x still needs its arch-indep part built.
  if (sawAll) return { ok: true, selection: { kind: 'all' } };
  // Every token was recognised, so what is left is wildcards that matched nothing here.
  return { ok: false, error: `architecture_list '${list.trim()}' matches no known architecture (known: ${knownText})` };
}
