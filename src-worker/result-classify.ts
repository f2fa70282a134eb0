// Turning tool output into launchpad-buildd result categories (spec/launchpad-buildd.md §4.2):
// dpkg-checkbuilddeps' "Unmet build dependencies", apt's unmet-dependency reports as sbuild
// prints them, and sbuild's closing Summary section (Status, Fail-Stage).
import type { ResultCategory } from '@shared/statuses';

export interface Classification {
  category: ResultCategory;
  /** DEPFAIL: the unsatisfied relations, comma-separated as in a Build-Depends field. */
  missingDependencies?: string;
  message?: string;
}

// ---------------------------------------------------------------- relations

/** Drops the `:any`/`:native` qualifier, as launchpad-buildd does (`ebadver:any (>= 3.0)` → `ebadver (>= 3.0)`). */
function normaliseRelation(name: string, qualifier: string | undefined, op?: string, ver?: string): string {
  const q = qualifier && qualifier !== 'any' && qualifier !== 'native' ? `:${qualifier}` : '';
  return op && ver ? `${name}${q} (${op} ${ver})` : `${name}${q}`;
}

const RELATION =
  /([a-z0-9][a-z0-9+.~_-]*)(?::([a-z0-9-]+))?(?:\s*\(\s*(<<|<=|>=|>>|=|<|>)\s*([^)\s]+)\s*\))?(?:\s*\[[^\]]*\])?(?:\s*<[^>]*>)*/y;

/**
 * Splits a space-separated list of relations as dpkg-checkbuilddeps prints it
 * (`a (>= 1) b | c`) into relation groups (`["a (>= 1)", "b | c"]`).
 */
export function splitRelationList(text: string): string[] {
  const groups: string[] = [];
  let alts: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s|,/.test(text[i])) i++;
  };
  for (skipSpace(); i < text.length; skipSpace()) {
    RELATION.lastIndex = i;
    const m = RELATION.exec(text);
    if (!m || m[0] === '') {
      // Something we do not understand: keep the rest verbatim rather than lose it.
      alts.push(text.slice(i).trim());
      break;
    }
    alts.push(normaliseRelation(m[1], m[2], m[3], m[4]));
    i = RELATION.lastIndex;
    while (i < text.length && text[i] === ' ') i++;
    if (text[i] === '|') {
      i++;
      continue;
    }
    groups.push(alts.join(' | '));
    alts = [];
  }
  if (alts.length) groups.push(alts.join(' | '));
  return groups;
}

// ---------------------------------------------------------------- dpkg-checkbuilddeps

export interface CheckbuilddepsResult {
  unmet: string[];
  conflicts: string[];
}

/** Parses `dpkg-checkbuilddeps: error: Unmet build dependencies: …` and `… Build conflicts: …`. */
export function parseCheckbuilddeps(output: string): CheckbuilddepsResult {
  const unmet = /Unmet build dependencies: (.*)$/m.exec(output);
  const conflicts = /Build conflicts: (.*)$/m.exec(output);
  return {
    unmet: unmet ? splitRelationList(unmet[1]) : [],
    conflicts: conflicts ? splitRelationList(conflicts[1]) : [],
  };
}

export function classifyCheckbuilddeps(code: number | null, output: string): Classification {
  if (code === 0) return { category: 'OK' };
  const { unmet, conflicts } = parseCheckbuilddeps(output);
  if (!unmet.length && !conflicts.length) {
    return { category: 'PACKAGEFAIL', message: `dpkg-checkbuilddeps failed (exit ${code}) without naming dependencies` };
  }
  const parts = [];
  if (unmet.length) parts.push(`unmet build dependencies: ${unmet.join(', ')}`);
  if (conflicts.length) parts.push(`build conflicts installed: ${conflicts.join(', ')}`);
  return {
    category: 'DEPFAIL',
    missingDependencies: unmet.length ? unmet.join(', ') : undefined,
    message: parts.join('; '),
  };
}

// ---------------------------------------------------------------- apt unmet dependencies

/** apt reasons that name a dependency that really is missing or at the wrong version. */
const DEFINITE = /but (?:\S+ is to be installed|\S+ is installed|it is not installable|it is a virtual package)\s*(?:or)?\s*$/;
/** apt reasons where the named package exists but something further down is broken. */
const DUBIOUS = /but it is (?:not installed|not going to be installed)\s*(?:or)?\s*$/;

export interface AptUnmet {
  definite: string[];
  dubious: string[];
}

const DEP_ENTRY = /^(?:\s*\S+\s+:)?\s*(?:Pre-)?Depends:\s+(.*)$/;
/** Where an entry ("<package> : Depends: …") starts on a line that begins with something else. */
const ENTRY_IN_LINE = /(?<=^|\s)\S+\s+:\s+(?:Pre-)?Depends:\s/;
/** apt's error, warning or notice lines (apt < 2.9 "E:", ≥ 2.9 "Error:"), or a piece of one. */
const APT_MESSAGE_PIECE = /^(?:(?:[EWN]|Error|Warning|Notice)(?::(?:\s.*)?)?|:\s.*)$/;
const REL_REASON = /^([a-z0-9][a-z0-9+.~_-]*)(?::([a-z0-9-]+))?(?:\s+\((\S+)\s+([^)\s]+)\))?\s+(but .*)$/;

/**
 * Extracts the relations apt reports under "The following packages have unmet dependencies:"
 * (apt < 2.9) or "Unsatisfied dependencies:" (apt ≥ 2.9), e.g.
 * ` sbuild-build-depends-main-dummy : Depends: libfoo-dev (>= 2) but 1.0 is to be installed`.
 * Alternatives (a line ending in "or" followed by a continuation) become `a | b`.
 */
export function parseAptUnmet(text: string): AptUnmet {
  const out: AptUnmet = { definite: [], dubious: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^(The following packages have unmet dependencies:|Unsatisfied dependencies:)\s*$/.test(lines[i])) continue;
    let alts: Array<{ rel: string; kind: 'definite' | 'dubious' | 'other' }> = [];
    const finish = () => {
      if (!alts.length) return;
      const rel = alts.map((a) => a.rel).join(' | ');
      // An alternative group is only as definite as its weakest member.
      if (alts.every((a) => a.kind === 'definite')) out.definite.push(rel);
      else if (alts.every((a) => a.kind !== 'other')) out.dubious.push(rel);
      alts = [];
    };
    let expectingAlternative = false;
    for (i++; i < lines.length; i++) {
      let line = lines[i].trimEnd();
      if (!/^\s/.test(line)) {
        // apt writes its errors to stderr, which sbuild sends down the same pipe as stdout, so
        // a piece of one ("E", ": Unable to correct problems…") can land inside the list, even
        // in front of an entry on its line. Step over the pieces; the list ends at anything else.
        const at = ENTRY_IN_LINE.exec(line);
        if (at) line = ` ${line.slice(at.index).trimStart()}`;
        else if (APT_MESSAGE_PIECE.test(line)) continue;
        else break;
      }
      const entry = DEP_ENTRY.exec(line);
      let relText: string;
      if (entry) {
        finish();
        relText = entry[1];
      } else if (expectingAlternative) {
        relText = line.trim();
      } else {
        finish();
        continue;
      }
      const m = REL_REASON.exec(relText.trim());
      if (!m) {
        finish();
        expectingAlternative = false;
        continue;
      }
      const reason = m[5];
      alts.push({
        rel: normaliseRelation(m[1], m[2], m[3], m[4]),
        kind: DEFINITE.test(reason) ? 'definite' : DUBIOUS.test(reason) ? 'dubious' : 'other',
      });
      expectingAlternative = /\bor$/.test(reason);
      if (!expectingAlternative) finish();
    }
    finish();
    i--;
  }
  out.definite = [...new Set(out.definite)];
  out.dubious = [...new Set(out.dubious)];
  return out;
}

/** Older apt/sbuild messages that name exactly one missing package (launchpad-buildd's legacy list). */
const LEGACY_DEPFAIL: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/([-+.\w]+)\(inst [^ ]+ ! >> wanted ([-.+\w:~]+)\)/, (m) => `${m[1]} (>> ${m[2]})`],
  [/([-+.\w]+)\(inst [^ ]+ ! >?= wanted ([-.+\w:~]+)\)/, (m) => `${m[1]} (>= ${m[2]})`],
  [/^E: Couldn't find package ([-+.\w]+)/m, (m) => m[1]],
  [/^E: Package '?([-+.\w]+)'? has no installation candidate/m, (m) => m[1]],
  [/^E: Unable to locate package ([-+.\w]+)/m, (m) => m[1]],
];

/**
 * The relations dose-distcheck reports unsatisfiable (sbuild's explain-bd-uninstallable step,
 * `unsat-dependency: foo:amd64 (>= 1.0)`), with the native architecture's qualifier dropped:
 * the fallback when apt's own report cannot be read.
 */
export function parseDoseUnsat(text: string): string[] {
  const native = /^native-architecture:\s*([a-z0-9-]+)\s*$/m.exec(text)?.[1];
  const qualifier = native ? new RegExp(`:${native}(?=[\\s|)]|$)`, 'g') : null;
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*unsat-dependency:\s*(.+?)\s*$/gm)) {
    const rel = qualifier ? m[1].replace(qualifier, '') : m[1];
    if (!out.includes(rel)) out.push(rel);
  }
  return out;
}

const GIVE_BACK = [/^E: There are problems and -y was used without --force-yes/m];

// ---------------------------------------------------------------- sbuild

/** The `Key: value` lines of sbuild's closing `| Summary |` section (keys lower-cased), or null. */
export function parseSbuildSummary(output: string): Map<string, string> | null {
  const lines = output.split('\n');
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^\|\s*Summary\s*\|\s*$/.test(lines[i])) {
      start = i;
      break;
    }
  }
  if (start < 0) return null;
  const fields = new Map<string, string>();
  let i = start + 1;
  while (i < lines.length && (/^\+-+\+\s*$/.test(lines[i]) || lines[i].trim() === '')) i++;
  for (; i < lines.length; i++) {
    const m = /^([A-Za-z][A-Za-z0-9 -]*):\s?(.*)$/.exec(lines[i]);
    if (!m) break; // the "-----" separator ends the section
    fields.set(m[1].toLowerCase(), m[2].trim());
  }
  return fields;
}

/** sbuild stages whose failure means the chroot (not the package) is broken. */
const CHROOT_STAGES = new Set([
  'create-session',
  'create-build-dir',
  'lock-session',
  'run-chroot-setup-commands',
  'resolver setup',
  'apt-get-clean',
  'apt-get-update',
  'apt-get-upgrade',
  'apt-get-dist-upgrade',
  'install-core',
  'install-essential',
]);
/** Stages where the builder (not the package, not the chroot) is at fault: try again elsewhere. */
const GIVE_BACK_STAGES = new Set(['check-space', 'init']);
const DEPS_STAGES = new Set(['install-deps', 'explain-bd-uninstallable', 'run-build-deps-failed-commands']);

/** Launchpad only searches the log up to the start of the package build. */
function beforeToolchain(output: string): string {
  const i = output.search(/^Toolchain package versions:/m);
  return i >= 0 ? output.slice(0, i) : output;
}

export interface SbuildRun {
  code: number | null;
  output: string;
  aborted?: boolean;
  spawnError?: string;
}

/**
 * Maps an sbuild run to a result category. The Summary's Status decides success; on failure
 * its Fail-Stage tells dependency, chroot and package problems apart. Dep-waits name the
 * relations apt could not satisfy. When apt only gives "dubious" reasons (the named package
 * exists but cannot be installed), launchpad-buildd analyses the chroot's package lists;
 * the unshare chroot is gone by then, so we report those relations as the dep-wait instead.
 */
export function classifySbuild(run: SbuildRun): Classification {
  if (run.aborted) return { category: 'ABORTED', message: 'build aborted' };
  if (run.spawnError) return { category: 'BUILDERFAIL', message: `cannot run sbuild: ${run.spawnError}` };
  const summary = parseSbuildSummary(run.output);
  if (!summary) {
    if (run.code === 0) return { category: 'OK' };
    return { category: 'BUILDERFAIL', message: `sbuild exited with code ${run.code} before printing its summary` };
  }
  const status = summary.get('status') ?? '';
  const stage = summary.get('fail-stage') ?? '';
  if (status === 'successful') return { category: 'OK' };
  if (status === 'skipped') return { category: 'OK', message: 'sbuild skipped the package: nothing to build for this architecture' };

  const early = beforeToolchain(run.output);
  if (GIVE_BACK.some((rx) => rx.test(early))) return { category: 'GIVENBACK', message: 'apt asked for confirmation (give-back pattern)' };

  if (DEPS_STAGES.has(stage)) {
    const apt = parseAptUnmet(early);
    const found = apt.definite.length ? apt.definite : apt.dubious;
    if (!found.length) {
      for (const [rx, fmt] of LEGACY_DEPFAIL) {
        const m = rx.exec(early);
        if (m) found.push(fmt(m));
      }
    }
    if (!found.length) found.push(...parseDoseUnsat(early));
    if (found.length) {
      return {
        category: 'DEPFAIL',
        missingDependencies: found.join(', '),
        message: `build dependencies not installable${apt.definite.length ? '' : ' (apt names packages whose own dependencies fail)'}`,
      };
    }
    return { category: 'PACKAGEFAIL', message: 'installing build dependencies failed and no missing dependency could be identified' };
  }
  if (CHROOT_STAGES.has(stage)) return { category: 'CHROOTFAIL', message: `sbuild failed at ${stage}` };
  if (GIVE_BACK_STAGES.has(stage) || status === 'given-back') return { category: 'GIVENBACK', message: `sbuild ${status} at ${stage || 'unknown stage'}` };
  return { category: 'PACKAGEFAIL', message: `sbuild ${status || 'failed'}${stage ? ` at ${stage}` : ''}` };
}
