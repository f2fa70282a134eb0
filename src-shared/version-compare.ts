// Debian version comparison, bit-for-bit compatible with `dpkg --compare-versions`.
//
// pyBit supersedes jobs by shelling out to dpkg (spec/pybit.md §7.4), which ties the
// controller to hosts that have dpkg installed. Re-implementing dpkg's algorithm lets
// the controller run anywhere (macOS desktop, Alpine container) while keeping the same
// answers, so the port follows lib/dpkg/version.c and parsehelp.c closely rather than
// policy prose: where the two disagree, dpkg is what the rest of the Debian tooling
// (sbuild, dak, apt) will act on.

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** A version dpkg itself refuses to compare (it exits 2 with "bad syntax"). */
export class VersionSyntaxError extends Error {
  constructor(
    readonly version: string,
    readonly reason: string,
  ) {
    super(`version '${version}' has bad syntax: ${reason}`);
    this.name = 'VersionSyntaxError';
  }
}

type ParseResult =
  | { ok: true; version: DebianVersion; warning: string | null }
  | { ok: false; error: string };

// dpkg uses the C locale helpers (c_isspace, c_isblank), not Unicode whitespace.
const isCSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const isCBlank = (c: string) => c === ' ' || c === '\t';
const isAsciiDigit = (c: string) => c >= '0' && c <= '9';
const isAsciiAlpha = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

const INT_MAX = 2147483647n;

/**
 * dpkg's parseversion(). Errors are the cases where dpkg aborts; a warning is
 * something dpkg grumbles about on stderr but still compares.
 */
function parseDpkg(input: string): ParseResult {
  let start = 0;
  // Leading trim is blanks only while the trailing trim is any space: that asymmetry
  // is dpkg's, and it decides whether e.g. "\n1" is "embedded spaces" or not.
  while (start < input.length && isCBlank(input[start]!)) start++;
  if (start >= input.length) return { ok: false, error: 'version string is empty' };

  let end = start;
  while (end < input.length && !isCSpace(input[end]!)) end++;
  for (let p = end; p < input.length; p++) {
    if (!isCSpace(input[p]!)) return { ok: false, error: 'version string has embedded spaces' };
  }

  let epoch = 0;
  let versionStart = start;
  const colon = input.indexOf(':', start);
  if (colon >= 0) {
    // Mirror strtol(): optional sign, then digits; anything else between the start and
    // the colon means "not a number". Sign handling matters: dpkg accepts "+1:" and "-0:".
    const m = /^[+-]?[0-9]*/.exec(input.slice(start, colon))!;
    const digits = m[0].replace(/^[+-]/, '');
    if (digits.length === 0) return { ok: false, error: 'epoch in version is empty' };
    if (start + m[0].length !== colon) return { ok: false, error: 'epoch in version is not number' };
    const value = BigInt(m[0].startsWith('-') ? '-' + digits : digits);
    if (value < 0n) return { ok: false, error: 'epoch in version is negative' };
    if (value > INT_MAX) return { ok: false, error: 'epoch in version is too big' };
    // dpkg looks at the raw character after the colon, so "1: " passes this check and
    // fails later as an empty version; keep that ordering for identical messages.
    if (colon + 1 >= input.length) return { ok: false, error: 'nothing after colon in version number' };
    epoch = Number(value);
    versionStart = colon + 1;
  }

  const full = versionStart <= end ? input.slice(versionStart, end) : '';
  // The revision is split at the *last* hyphen so upstream versions may contain hyphens.
  const hyphen = full.lastIndexOf('-');
  let upstream = full;
  let revision = '';
  if (hyphen >= 0) {
    upstream = full.slice(0, hyphen);
    revision = full.slice(hyphen + 1);
    if (revision === '') return { ok: false, error: 'revision number is empty' };
  }
  if (upstream === '') return { ok: false, error: 'version number is empty' };

  let warning: string | null = null;
  if (!isAsciiDigit(upstream[0]!)) {
    warning = 'version number does not start with digit';
  } else if ([...upstream].some((c) => !isAsciiDigit(c) && !isAsciiAlpha(c) && !'.-+~:'.includes(c))) {
    warning = 'invalid character in version number';
  } else if ([...revision].some((c) => !isAsciiDigit(c) && !isAsciiAlpha(c) && !'.+~'.includes(c))) {
    warning = 'invalid character in revision number';
  }
  return { ok: true, version: { epoch, upstream, revision }, warning };
}

/**
 * Split a version into epoch, upstream and revision the way dpkg does (missing epoch
 * is 0, missing revision is ''). Throws VersionSyntaxError for input dpkg rejects;
 * merely unusual input (e.g. not starting with a digit) is parsed, as dpkg does.
 */
export function parseVersion(v: string): DebianVersion {
  const r = parseDpkg(v);
  if (!r.ok) throw new VersionSyntaxError(v, r.error);
  return r.version;
}

const encoder = new TextEncoder();

// dpkg compares bytes of a plain (signed on the platforms Debian cares about) char.
// Encoding to UTF-8 and sign-extending keeps non-ASCII input ordered exactly as dpkg
// orders it, even though such versions are never valid.
function toSignedBytes(s: string): Int16Array {
  const u = encoder.encode(s);
  const out = new Int16Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = u[i]! >= 128 ? u[i]! - 256 : u[i]!;
  return out;
}

const isDigitCode = (c: number) => c >= 48 && c <= 57;
const isAlphaCode = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

// The heart of Debian ordering: '~' sorts before the end of the string (so pre-releases
// sort low), the end sorts before letters, and letters sort before every other symbol.
function order(c: number): number {
  if (isDigitCode(c)) return 0;
  if (isAlphaCode(c)) return c;
  if (c === 126 /* ~ */) return -1;
  if (c !== 0) return c + 256;
  return 0;
}

function verrevcmp(as: string, bs: string): number {
  const a = toSignedBytes(as);
  const b = toSignedBytes(bs);
  // Reading past the end yields 0, standing in for C's terminating NUL.
  const at = (i: number) => (i < a.length ? a[i]! : 0);
  const bt = (i: number) => (i < b.length ? b[i]! : 0);
  let i = 0;
  let j = 0;
  while (at(i) !== 0 || bt(j) !== 0) {
    let firstDiff = 0;
    while ((at(i) !== 0 && !isDigitCode(at(i))) || (bt(j) !== 0 && !isDigitCode(bt(j)))) {
      const ac = order(at(i));
      const bc = order(bt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    // Numeric runs compare by value, so leading zeros are insignificant ("1.01" == "1.1")
    // and arbitrarily long runs never overflow.
    while (at(i) === 48) i++;
    while (bt(j) === 48) j++;
    while (isDigitCode(at(i)) && isDigitCode(bt(j))) {
      if (firstDiff === 0) firstDiff = at(i) - bt(j);
      i++;
      j++;
    }
    if (isDigitCode(at(i))) return 1;
    if (isDigitCode(bt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Compare two already-parsed versions (dpkg_version_compare). Returns -1, 0 or 1. */
export function compareParsed(a: DebianVersion, b: DebianVersion): number {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? 1 : -1;
  const r = verrevcmp(a.upstream, b.upstream);
  if (r !== 0) return sign(r);
  return sign(verrevcmp(a.revision, b.revision));
}

// `dpkg --compare-versions` treats an empty argument (and the literal "<unknown>",
// which dpkg prints for versions it does not know) as "no version", older than any
// real version for lt/eq/gt.
const isBlank = (v: string) => v === '' || v === '<unknown>';

/**
 * Compare two Debian versions exactly as `dpkg --compare-versions` does.
 * Returns -1, 0 or 1. Throws VersionSyntaxError where dpkg would exit with
 * "bad syntax"; use versionError() first to reject user input with a clear message.
 */
export function compareVersions(a: string, b: string): number {
  const blankA = isBlank(a);
  const blankB = isBlank(b);
  if (blankA || blankB) return blankA && blankB ? 0 : blankA ? -1 : 1;
  return compareParsed(parseVersion(a), parseVersion(b));
}

/**
 * A human explanation of why `v` is not an acceptable Debian version, or null if it is.
 * Stricter than dpkg: besides what dpkg refuses outright, it also rejects what dpkg only
 * warns about and what Debian policy §5.6.12 forbids, because a version we accept ends
 * up in changelogs, queue messages and uploads where other tools will be strict.
 */
export function versionError(v: string): string | null {
  const quoted = `'${v}'`;
  if (v.trim() === '') return 'version is empty';
  if (v !== v.trim()) return `version ${quoted} has leading or trailing whitespace`;
  const r = parseDpkg(v);
  if (!r.ok) {
    const human: Record<string, string> = {
      'version string is empty': 'version is empty',
      'version string has embedded spaces': `version ${quoted} contains spaces`,
      'epoch in version is empty': `version ${quoted} has an empty epoch before ':' (the epoch must be a number, e.g. '1:2.0')`,
      'epoch in version is not number': `version ${quoted} has an epoch that is not a number (the part before the first ':')`,
      'epoch in version is negative': `version ${quoted} has a negative epoch`,
      'epoch in version is too big': `version ${quoted} has an epoch larger than ${INT_MAX}`,
      'nothing after colon in version number': `version ${quoted} has nothing after the epoch ':'`,
      'revision number is empty': `version ${quoted} ends with '-' but has no Debian revision after it`,
      'version number is empty': `version ${quoted} has an empty upstream version`,
    };
    return human[r.error] ?? `version ${quoted} is invalid: ${r.error}`;
  }
  const colon = v.indexOf(':');
  // dpkg's strtol happily takes "+1:" or "-0:"; policy says the epoch is plain digits.
  if (colon >= 0 && !/^[0-9]+$/.test(v.slice(0, colon))) {
    return `version ${quoted} has an epoch that is not a plain unsigned integer`;
  }
  const { upstream, revision } = r.version;
  if (!isAsciiDigit(upstream[0]!)) {
    return `version ${quoted}: the upstream version '${upstream}' must start with a digit`;
  }
  const badUp = [...upstream].find((c) => !isAsciiDigit(c) && !isAsciiAlpha(c) && !'.+~-:'.includes(c));
  if (badUp !== undefined) {
    return `version ${quoted}: the upstream version '${upstream}' contains '${badUp}' (allowed: letters, digits and . + ~ - :)`;
  }
  const badRev = [...revision].find((c) => !isAsciiDigit(c) && !isAsciiAlpha(c) && !'.+~'.includes(c));
  if (badRev !== undefined) {
    return `version ${quoted}: the Debian revision '${revision}' contains '${badRev}' (allowed: letters, digits and . + ~)`;
  }
  return null;
}

/** True when `v` is a well-formed Debian version (see versionError for the reasons). */
export function isValidVersion(v: string): boolean {
  return versionError(v) === null;
}
