import { describe, expect, it } from 'vitest';
import { archTuple, parseArchList, type ArchSelection } from '@shared/arch-list';

const SEED = ['i386', 'armel']; // pyBit's db/populate.sql arches
const ARM = ['arm', 'armel', 'i386'];
const MIXED = ['amd64', 'i386', 'armel', 'armhf', 'hurd-i386', 'kfreebsd-amd64', 'kfreebsd-i386'];

function sel(list: string, known: string[]): ArchSelection {
  const r = parseArchList(list, known);
  if (!r.ok) throw new Error(`expected ok for '${list}', got: ${r.error}`);
  return r.selection;
}

function err(list: string, known: string[]): string {
  const r = parseArchList(list, known);
  if (r.ok) throw new Error(`expected an error for '${list}', got ${JSON.stringify(r.selection)}`);
  return r.error;
}

const explicit = (...arches: string[]): ArchSelection => ({ kind: 'explicit', arches });

describe('parseArchList', () => {
  it('any and all', () => {
    expect(sel('any', SEED)).toEqual({ kind: 'any' });
    expect(sel('all', SEED)).toEqual({ kind: 'all' });
    expect(sel('all all', SEED)).toEqual({ kind: 'all' });
  });

  it('all together with any behaves like any, whatever the separator or order', () => {
    for (const list of ['all,any', 'all any', 'any, all', ' all ,\tany\n', 'allany', 'anyall']) {
      expect(sel(list, SEED), list).toEqual({ kind: 'any' });
    }
  });

  it('linux-any is any on an all-Linux farm, but not elsewhere', () => {
    expect(sel('linux-any', SEED)).toEqual({ kind: 'any' });
    expect(sel('linux-any', MIXED)).toEqual(explicit('amd64', 'i386', 'armel', 'armhf'));
    expect(sel('all linux-any', SEED)).toEqual({ kind: 'any' });
    expect(sel('any-any', MIXED)).toEqual({ kind: 'any' });
  });

  it('cpu and os wildcards select matching known arches', () => {
    expect(sel('any-i386', SEED)).toEqual(explicit('i386'));
    expect(sel('any-i386', ARM)).toEqual(explicit('i386'));
    expect(sel('any-i386', MIXED)).toEqual(explicit('i386', 'hurd-i386', 'kfreebsd-i386'));
    expect(sel('any-amd64', MIXED)).toEqual(explicit('amd64', 'kfreebsd-amd64'));
    expect(sel('kfreebsd-any', MIXED)).toEqual(explicit('kfreebsd-amd64', 'kfreebsd-i386'));
    expect(sel('hurd-any', MIXED)).toEqual(explicit('hurd-i386'));
    // armel and armhf are both the `arm` cpu in dpkg's tuples; `arm` itself too.
    expect(sel('any-arm', MIXED)).toEqual(explicit('armel', 'armhf'));
    expect(sel('any-arm', ARM)).toEqual(explicit('arm', 'armel'));
    // A wildcard mixed with all is still just the wildcard's arches.
    expect(sel('all, any-i386', SEED)).toEqual(explicit('i386'));
    expect(sel('any-i386 armel', SEED)).toEqual(explicit('i386', 'armel'));
  });

  it('a wildcard that matches nothing known is an error unless something else is selected', () => {
    expect(err('any-s390x', SEED)).toBe("architecture_list 'any-s390x' matches no known architecture (known: i386, armel)");
    expect(sel('any-s390x i386', SEED)).toEqual(explicit('i386'));
    expect(sel('all any-s390x', SEED)).toEqual({ kind: 'all' });
  });

  it('explicit lists, comma or space separated, in the order given', () => {
    expect(sel('armel,i386', SEED)).toEqual(explicit('armel', 'i386'));
    expect(sel('i386 armel', SEED)).toEqual(explicit('i386', 'armel'));
    expect(sel('i386, armel', SEED)).toEqual(explicit('i386', 'armel'));
    expect(sel('armel', SEED)).toEqual(explicit('armel'));
  });

  it('splits space-stripped lists from old hooks', () => {
    expect(sel('i386armel', SEED)).toEqual(explicit('i386', 'armel'));
    expect(sel('armeli386', SEED)).toEqual(explicit('armel', 'i386'));
    expect(sel('armelarm', ARM)).toEqual(explicit('armel', 'arm'));
    expect(sel('armarmel', ARM)).toEqual(explicit('arm', 'armel'));
    expect(sel('i386all', SEED)).toEqual(explicit('i386'));
    expect(sel('i386any', SEED)).toEqual({ kind: 'any' });
  });

  it('picks a deterministic split when several exist', () => {
    // "abc" = a+bc = ab+c: both two pieces; the longer first piece wins, whatever the order.
    expect(sel('abc', ['a', 'bc', 'ab', 'c'])).toEqual(explicit('ab', 'c'));
    expect(sel('abc', ['c', 'ab', 'bc', 'a'])).toEqual(explicit('ab', 'c'));
    // Fewer pieces win before piece length counts: "abcd" is ab+cd, not a+b+cd.
    expect(sel('abcd', ['a', 'b', 'cd', 'ab'])).toEqual(explicit('ab', 'cd'));
  });

  it('matches names exactly: arm is not armel', () => {
    expect(sel('armel', ARM)).toEqual(explicit('armel'));
    expect(sel('arm', ARM)).toEqual(explicit('arm'));
    expect(err('arm', SEED)).toBe("unknown architecture 'arm' (known: i386, armel)");
    expect(err('armel', ['arm', 'i386'])).toBe("unknown architecture 'armel' (known: arm, i386)");
  });

  it('rejects unknown architectures, even next to valid ones', () => {
    expect(err('amd64', SEED)).toBe("unknown architecture 'amd64' (known: i386, armel)");
    expect(err('i386,xyz', SEED)).toBe("unknown architecture 'xyz' (known: i386, armel)");
    expect(err('any xyz', SEED)).toBe("unknown architecture 'xyz' (known: i386, armel)");
    expect(err('i386armelx', SEED)).toBe("unknown architecture 'i386armelx' (known: i386, armel)");
    expect(err('I386', SEED)).toContain("unknown architecture 'I386'");
    expect(err('i386', [])).toBe("unknown architecture 'i386' (known: none)");
  });

  it('rejects an empty list', () => {
    for (const list of ['', '   ', ',', ' , ,\n']) {
      expect(err(list, SEED), JSON.stringify(list)).toBe('architecture_list is empty');
    }
  });

  it('drops duplicates, keeping first-seen order', () => {
    expect(sel('i386 armel i386', SEED)).toEqual(explicit('i386', 'armel'));
    expect(sel('armel,armel', SEED)).toEqual(explicit('armel'));
    expect(sel('i386armeli386 armel', SEED)).toEqual(explicit('i386', 'armel'));
    expect(sel('any-i386 i386', MIXED)).toEqual(explicit('i386', 'hurd-i386', 'kfreebsd-i386'));
  });
});

describe('archTuple', () => {
  it('follows dpkg tupletable', () => {
    expect(archTuple('i386')).toEqual(['base', 'gnu', 'linux', 'i386']);
    expect(archTuple('armel')).toEqual(['eabi', 'gnu', 'linux', 'arm']);
    expect(archTuple('armhf')).toEqual(['eabihf', 'gnu', 'linux', 'arm']);
    expect(archTuple('x32')).toEqual(['x32', 'gnu', 'linux', 'amd64']);
    expect(archTuple('kfreebsd-amd64')).toEqual(['base', 'gnu', 'kfreebsd', 'amd64']);
    expect(archTuple('hurd-i386')).toEqual(['base', 'gnu', 'hurd', 'i386']);
    expect(archTuple('musl-linux-amd64')).toEqual(['base', 'musl', 'linux', 'amd64']);
  });
});
