import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classifyCheckbuilddeps,
  classifySbuild,
  parseAptUnmet,
  parseCheckbuilddeps,
  parseDoseUnsat,
  parseSbuildSummary,
  splitRelationList,
} from '../../src-worker/result-classify';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sbuild/${name}`, import.meta.url), 'utf8');

function summary(status: string, failStage?: string): string {
  return [
    '+------------------------------------------------------------------------------+',
    '| Summary                                                                      |',
    '+------------------------------------------------------------------------------+',
    '',
    'Build Architecture: amd64',
    ...(failStage ? [`Fail-Stage: ${failStage}`] : []),
    'Package: hello',
    `Status: ${status}`,
    'Version: 1.0',
    '--------------------------------------------------------------------------------',
    'Finished at 2024-01-01T00:00:00Z',
    '',
  ].join('\n');
}

describe('dpkg-checkbuilddeps parsing', () => {
  it('splits the unmet list into relations, keeping alternatives and versions', () => {
    const out =
      'dpkg-checkbuilddeps: error: Unmet build dependencies: nonexist-a | nonexist-b (>= 2) libc6:any (>= 99) debhelper-compat (= 13)\n';
    expect(parseCheckbuilddeps(out)).toEqual({
      unmet: ['nonexist-a | nonexist-b (>= 2)', 'libc6 (>= 99)', 'debhelper-compat (= 13)'],
      conflicts: [],
    });
  });

  it('reads build conflicts', () => {
    const out =
      'dpkg-checkbuilddeps: error: Unmet build dependencies: foo\ndpkg-checkbuilddeps: error: Build conflicts: make dpkg (<< 9)\n';
    expect(parseCheckbuilddeps(out)).toEqual({ unmet: ['foo'], conflicts: ['make', 'dpkg (<< 9)'] });
  });

  it('classifies unmet dependencies as DEPFAIL with the relations named', () => {
    const c = classifyCheckbuilddeps(1, 'dpkg-checkbuilddeps: error: Unmet build dependencies: libfoo-dev (>= 1.2) bar\n');
    expect(c).toMatchObject({ category: 'DEPFAIL', missingDependencies: 'libfoo-dev (>= 1.2), bar' });
  });

  it('classifies success and unexplained failure', () => {
    expect(classifyCheckbuilddeps(0, '')).toEqual({ category: 'OK' });
    expect(classifyCheckbuilddeps(255, 'dpkg-checkbuilddeps: error: cannot read debian/control\n').category).toBe('PACKAGEFAIL');
  });

  it('keeps text it cannot parse instead of dropping it', () => {
    expect(splitRelationList('good (>= 1) ???weird')).toEqual(['good (>= 1)', '???weird']);
  });
});

describe('apt unmet dependency parsing', () => {
  it('names definite missing relations (launchpad-buildd test cases)', () => {
    const text = [
      'The following packages have unmet dependencies:',
      ' sbuild-build-depends-main-dummy : Depends: enoent but it is not installable',
      '                                   Depends: ebadver (< 2.0) but 3.0 is to be installed',
      '                                   Depends: ebadver:any (>= 3.0) but 1.0 is installed',
      '                                   Depends: virt but it is a virtual package',
      'E: Unable to correct problems, you have held broken packages.',
    ].join('\n');
    expect(parseAptUnmet(text)).toEqual({
      definite: ['enoent', 'ebadver (< 2.0)', 'ebadver (>= 3.0)', 'virt'],
      dubious: [],
    });
  });

  it('separates dubious reasons and joins alternatives', () => {
    const text = [
      'Unsatisfied dependencies:',
      ' sbuild-build-depends-main-dummy : Depends: a but it is not installable or',
      '                                            b (>= 2) but 1 is to be installed',
      '                                   Depends: c but it is not going to be installed',
      'Error: Unable to correct problems, you have held broken packages.',
    ].join('\n');
    expect(parseAptUnmet(text)).toEqual({ definite: ['a | b (>= 2)'], dubious: ['c'] });
  });
});

describe('apt unmet dependency parsing with stderr pieces in the list', () => {
  // apt's stderr and stdout share sbuild's pipe: its "E: …" can be cut into the list.
  it('reads an entry with a piece of an error in front of it, and steps over the rest', () => {
    const text = [
      'The following packages have unmet dependencies:',
      'E sbuild-build-depends-main-dummy : Depends: enoent (>= 1.0) but it is not installable',
      ': Unable to correct problems, you have held broken packages.',
      '                                   Depends: other but it is not installable',
      'Error: Unable to correct problems, you have held broken packages.',
      'apt-get failed.',
      ' not-part-of-the-list : Depends: x but it is not installable',
    ].join('\n');
    expect(parseAptUnmet(text)).toEqual({ definite: ['enoent (>= 1.0)', 'other'], dubious: [] });
  });

  it('classifies a real sbuild dep-wait whose apt report was cut by its own error line as DEPFAIL', () => {
    const log = fixture('depwait-interleaved.log');
    expect(log).toContain('E sbuild-build-depends-main-dummy : Depends:');
    expect(classifySbuild({ code: 3, output: log })).toMatchObject({ category: 'DEPFAIL', missingDependencies: 'buildbox-nonexistent-package (>= 1.0)' });
  });

  it("falls back to dose-distcheck's report when apt's cannot be read", () => {
    const dose = [
      'native-architecture: amd64',
      'report:',
      ' -',
      '  package: sbuild-build-depends-main-dummy',
      '  status: broken',
      '  reasons:',
      '   -',
      '    missing:',
      '     pkg:',
      '      unsat-dependency: libfoo-dev:amd64 (>= 2.0)',
      '   -',
      '    missing:',
      '     pkg:',
      '      unsat-dependency: bar:amd64 | baz:i386',
      '      unsat-dependency: libfoo-dev:amd64 (>= 2.0)',
    ].join('\n');
    expect(parseDoseUnsat(dose)).toEqual(['libfoo-dev (>= 2.0)', 'bar | baz:i386']);
    const c = classifySbuild({ code: 3, output: `apt-get failed.\n${dose}\n${summary('given-back', 'install-deps')}` });
    expect(c).toMatchObject({ category: 'DEPFAIL', missingDependencies: 'libfoo-dev (>= 2.0), bar | baz:i386' });
  });
});

describe('sbuild summary parsing and classification', () => {
  it('reads the summary section', () => {
    const s = parseSbuildSummary(`noise\n${summary('failed', 'build')}`);
    expect(s?.get('status')).toBe('failed');
    expect(s?.get('fail-stage')).toBe('build');
    expect(s?.get('package')).toBe('hello');
    expect(s?.has('finished at')).toBe(false);
  });

  it('classifies a real sbuild dep-wait (unshare chroot, apt resolver) as DEPFAIL', () => {
    const c = classifySbuild({ code: 3, output: fixture('depwait-install-deps.log') });
    expect(c).toMatchObject({ category: 'DEPFAIL', missingDependencies: 'nonexist-a (>= 1.0), libc6 (>= 99)' });
  });

  it('maps statuses and stages', () => {
    expect(classifySbuild({ code: 0, output: summary('successful') }).category).toBe('OK');
    expect(classifySbuild({ code: 0, output: summary('skipped', 'arch-check') }).category).toBe('OK');
    expect(classifySbuild({ code: 1, output: summary('failed', 'build') }).category).toBe('PACKAGEFAIL');
    expect(classifySbuild({ code: 1, output: summary('failed', 'create-session') }).category).toBe('CHROOTFAIL');
    expect(classifySbuild({ code: 3, output: summary('given-back', 'apt-get-update') }).category).toBe('CHROOTFAIL');
    expect(classifySbuild({ code: 3, output: summary('given-back', 'check-space') }).category).toBe('GIVENBACK');
    expect(classifySbuild({ code: 1, output: summary('failed', 'install-deps') }).category).toBe('PACKAGEFAIL');
  });

  it('recognises the give-back pattern and the legacy dep-wait messages', () => {
    const giveBack = `E: There are problems and -y was used without --force-yes\n${summary('failed', 'install-deps')}`;
    expect(classifySbuild({ code: 1, output: giveBack }).category).toBe('GIVENBACK');
    const legacy = `E: Unable to locate package libmissing-dev\n${summary('given-back', 'install-deps')}`;
    expect(classifySbuild({ code: 3, output: legacy })).toMatchObject({ category: 'DEPFAIL', missingDependencies: 'libmissing-dev' });
  });

  it('ignores dependency-looking text in the package build itself', () => {
    const text = `Toolchain package versions: gcc\nThe following packages have unmet dependencies:\n x : Depends: y but it is not installable\n${summary('failed', 'build')}`;
    expect(classifySbuild({ code: 1, output: text }).category).toBe('PACKAGEFAIL');
  });

  it('treats a missing summary, a missing sbuild and an abort as such', () => {
    expect(classifySbuild({ code: 1, output: 'perl: crash\n' }).category).toBe('BUILDERFAIL');
    expect(classifySbuild({ code: 127, output: '', spawnError: 'spawn sbuild ENOENT' }).category).toBe('BUILDERFAIL');
    expect(classifySbuild({ code: null, output: '', aborted: true }).category).toBe('ABORTED');
  });
});
