import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion, parseVersion, versionError, VersionSyntaxError } from '@shared/version-compare';

const execFileP = promisify(execFile);

type Rel = 'lt' | 'eq' | 'gt';
const rel = (n: number): Rel => (n < 0 ? 'lt' : n > 0 ? 'gt' : 'eq');

// Every row was checked against dpkg 1.21 by hand; the generated section below
// re-checks a much larger set against whatever dpkg is installed.
const TABLE: Array<[string, Rel, string]> = [
  ['1.0~rc1', 'lt', '1.0'],
  ['1.0~rc1', 'gt', '1.0~beta1'],
  ['1.0~~', 'lt', '1.0~'],
  ['1.0~', 'lt', '1.0'],
  ['1:0.1', 'gt', '2.0'],
  ['0:1.0', 'eq', '1.0'],
  ['01:1', 'eq', '1:1'],
  ['1.0-1', 'lt', '1.0-1.1'],
  ['1.0-0', 'eq', '1.0'],
  ['1.0', 'eq', '1.00'],
  ['1.01', 'eq', '1.1'],
  ['1.0a', 'gt', '1.0'],
  ['1.0+', 'gt', '1.0'],
  ['1.0a', 'lt', '1.0+'],
  ['1.0.', 'gt', '1.0'],
  ['1.0+dfsg', 'gt', '1.0'],
  ['1.0+dfsg-1', 'lt', '1.0.1-1'],
  ['2.30', 'gt', '2.4'],
  ['10', 'gt', '9'],
  ['1.2.3', 'lt', '1.2.10'],
  ['1:1:1-1-1', 'lt', '1:1:1-1-2'],
  ['1.0-1~bpo1', 'lt', '1.0-1'],
  ['1.0-1+b1', 'gt', '1.0-1'],
  ['2147483647:1', 'gt', '1'],
  ['99999999999999999999999', 'gt', '99999999999999999999998'],
  [' 1.0 ', 'eq', '1.0'],
  ['+1:1', 'eq', '1:1'],
  ['', 'lt', '0'],
  ['', 'eq', ''],
  ['0', 'gt', ''],
  ['<unknown>', 'lt', '0'],
  // Things dpkg only warns about are still compared.
  ['a', 'gt', '1'],
  ['1.0_1', 'gt', '1'],
];

describe('compareVersions: hand-picked cases', () => {
  it.each(TABLE)('%s %s %s', (a, r, b) => {
    expect(rel(compareVersions(a, b))).toBe(r);
    const inverse: Rel = r === 'lt' ? 'gt' : r === 'gt' ? 'lt' : 'eq';
    expect(rel(compareVersions(b, a))).toBe(inverse);
  });

  it('rejects what dpkg refuses to compare, with dpkg’s reason', () => {
    const cases: Array<[string, string]> = [
      ['1.0-', 'revision number is empty'],
      [':1', 'epoch in version is empty'],
      ['x:1', 'epoch in version is empty'],
      ['1x:1', 'epoch in version is not number'],
      ['-1:1', 'epoch in version is negative'],
      ['2147483648:1', 'epoch in version is too big'],
      ['1:', 'nothing after colon in version number'],
      ['1: ', 'version number is empty'],
      ['-1', 'version number is empty'],
      ['1 0', 'version string has embedded spaces'],
      [' ', 'version string is empty'],
    ];
    for (const [v, reason] of cases) {
      let err: unknown;
      try {
        compareVersions(v, '1');
      } catch (e) {
        err = e;
      }
      expect(err, v).toBeInstanceOf(VersionSyntaxError);
      expect((err as VersionSyntaxError).reason, v).toBe(reason);
    }
  });
});

describe('parseVersion', () => {
  it('splits epoch, upstream and revision', () => {
    expect(parseVersion('1.0')).toEqual({ epoch: 0, upstream: '1.0', revision: '' });
    expect(parseVersion('2:1.0-3')).toEqual({ epoch: 2, upstream: '1.0', revision: '3' });
    // Upstream keeps every hyphen but the last, and every colon after the first.
    expect(parseVersion('1:2:3-a-b')).toEqual({ epoch: 1, upstream: '2:3-a', revision: 'b' });
  });
});

describe('versionError / isValidVersion', () => {
  it('accepts policy-conforming versions', () => {
    for (const v of ['0', '1.0', '1:2.3~rc1+dfsg-4ubuntu1~bpo1', '2:1.0-1-2', '1:1:1', '1.0+git20240101.abc']) {
      expect(versionError(v), v).toBeNull();
      expect(isValidVersion(v)).toBe(true);
    }
  });

  it('explains what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['  ', /empty/],
      [' 1.0', /whitespace/],
      ['1.0 1', /spaces/],
      ['1.0-', /no Debian revision/],
      ['x:1.0', /epoch/],
      ['1x:1.0', /epoch that is not a number/],
      ['+1:1.0', /plain unsigned integer/],
      ['-0:1.0', /plain unsigned integer/],
      ['2147483648:1', /epoch larger/],
      ['1:', /nothing after/],
      ['a1.0', /must start with a digit/],
      ['1:a1.0', /must start with a digit/],
      ['1.0_1', /contains '_'/],
      ['1.0-1_2', /revision '1_2' contains '_'/],
      ['1:1.0-1:2', /revision '1:2' contains ':'/],
      ['1.0é', /contains 'é'/],
    ];
    for (const [v, re] of cases) {
      const msg = versionError(v);
      expect(msg, v).toMatch(re);
      expect(isValidVersion(v)).toBe(false);
    }
  });
});

// ---- generated cases checked against the real dpkg ------------------------------

// mulberry32: tiny, deterministic, good enough to spread cases around.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Parts {
  epoch: string | null;
  upstream: string;
  revision: string | null;
}

function makeGen(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const DIGITS = ['0', '1', '2', '9', '10', '01', '00', '11', '100', '007'];
  const LETTERS = ['a', 'b', 'z', 'A', 'Z', 'rc', 'dfsg', 'beta', 'git'];
  const SYMBOLS = ['~', '~~', '+', '.', '-'];
  const piece = (inRevision: boolean): string => {
    const x = r();
    if (x < 0.4) return pick(DIGITS);
    if (x < 0.7) return pick(LETTERS);
    const s = pick(SYMBOLS);
    // '-' is only legal inside the upstream part (the revision is split at the last one).
    return inRevision && s === '-' ? '.' : s;
  };
  const body = (first: string, n: number, inRevision: boolean) => {
    let s = first;
    for (let i = 0; i < n; i++) s += piece(inRevision);
    return s;
  };
  const fresh = (): Parts => ({
    epoch: r() < 0.25 ? pick(['0', '1', '2', '10', '00']) : null,
    upstream: body(pick(DIGITS), Math.floor(r() * 5), false),
    revision: r() < 0.5 ? body(r() < 0.8 ? pick(DIGITS) : pick(LETTERS), Math.floor(r() * 3), true) : null,
  });
  // Random independent versions mostly differ in the first character; small edits of
  // one version exercise the interesting tails (~ vs end, letters vs symbols, zeros).
  const mutate = (p: Parts): Parts => {
    const q = { ...p };
    const x = r();
    if (x < 0.15) q.epoch = q.epoch === null ? pick(['0', '1']) : r() < 0.5 ? null : pick(['0', '1', '2']);
    else if (x < 0.5) q.upstream = p.upstream + piece(false) + (r() < 0.5 ? pick(DIGITS) : '');
    else if (x < 0.7 && p.upstream.length > 1) q.upstream = p.upstream.slice(0, -1);
    else if (x < 0.85) q.revision = p.revision === null ? pick(DIGITS) : p.revision + piece(true) + pick(DIGITS);
    else q.revision = p.revision === null ? null : r() < 0.5 ? null : pick(['0', '1', 'a', '0~1']);
    return q;
  };
  const render = (p: Parts): string => {
    let up = p.upstream;
    // Keep the pair inside dpkg's accepted syntax: no trailing '-' (empty revision),
    // and a ':' in upstream only when an epoch absorbs the first colon.
    while (up.endsWith('-')) up = up.slice(0, -1) + '.';
    if (p.revision === null) up = up.replace(/-/g, '.');
    return (p.epoch !== null ? p.epoch + ':' : '') + up + (p.revision !== null ? '-' + p.revision : '');
  };
  return { fresh, mutate, render, r };
}

function generatePairs(count: number, seed: number): Array<[string, string]> {
  const g = makeGen(seed);
  const pairs: Array<[string, string]> = [];
  while (pairs.length < count) {
    const a = g.fresh();
    let b: Parts;
    const x = g.r();
    if (x < 0.25) b = g.fresh();
    else if (x < 0.35) b = a; // equal strings must come out 'eq'
    else {
      b = g.mutate(a);
      if (g.r() < 0.3) b = g.mutate(b);
    }
    pairs.push(g.r() < 0.5 ? [g.render(a), g.render(b)] : [g.render(b), g.render(a)]);
  }
  return pairs;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Ask dpkg about a batch of pairs with one shell per batch; returns lt/eq/gt/err per pair. */
async function dpkgRelations(pairs: Array<[string, string]>): Promise<string[]> {
  const lines = [
    'c() {',
    '  dpkg --compare-versions -- "$1" lt "$2" 2>/dev/null && { echo lt; return; }',
    '  dpkg --compare-versions -- "$1" gt "$2" 2>/dev/null && { echo gt; return; }',
    '  dpkg --compare-versions -- "$1" eq "$2" 2>/dev/null && { echo eq; return; }',
    '  echo err',
    '}',
    ...pairs.map(([a, b]) => `c ${shq(a)} ${shq(b)}`),
  ];
  const { stdout } = await execFileP('sh', ['-c', lines.join('\n')], { maxBuffer: 1 << 20 });
  const out = stdout.trim().split('\n');
  expect(out).toHaveLength(pairs.length);
  return out;
}

describe('compareVersions agrees with dpkg --compare-versions', () => {
  const PAIRS = generatePairs(400, 20240917);

  it('generates a varied, deterministic set', () => {
    expect(generatePairs(400, 20240917)).toEqual(PAIRS);
    expect(new Set(PAIRS.map(([a, b]) => `${a} ${b}`)).size).toBeGreaterThan(300);
    const s = PAIRS.flat().join(' ');
    for (const ch of ['~', '+', ':', '-', '.']) expect(s).toContain(ch);
  });

  it('on 400 generated pairs', async () => {
    const BATCH = 100;
    const batches: Array<Array<[string, string]>> = [];
    for (let i = 0; i < PAIRS.length; i += BATCH) batches.push(PAIRS.slice(i, i + BATCH));
    const results = (await Promise.all(batches.map(dpkgRelations))).flat();

    const mismatches: string[] = [];
    const seen = { lt: 0, eq: 0, gt: 0 };
    PAIRS.forEach(([a, b], i) => {
      const want = results[i]!;
      const got = rel(compareVersions(a, b));
      if (want === 'lt' || want === 'eq' || want === 'gt') seen[want]++;
      if (got !== want) mismatches.push(`${a} vs ${b}: dpkg ${want}, ours ${got}`);
    });
    expect(mismatches).toEqual([]);
    // A generator that only ever produced one outcome would prove little.
    expect(seen.lt).toBeGreaterThan(50);
    expect(seen.gt).toBeGreaterThan(50);
    expect(seen.eq).toBeGreaterThan(20);
  });

  it('also agrees on the hand-picked table', async () => {
    const pairs = TABLE.map(([a, , b]) => [a, b] as [string, string]);
    const results = await dpkgRelations(pairs);
    pairs.forEach(([a, b], i) => expect(`${a} vs ${b}: ${rel(compareVersions(a, b))}`).toBe(`${a} vs ${b}: ${results[i]}`));
  });
});
