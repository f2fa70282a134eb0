// What a submission needs from an unpacked Debian source tree: source name, version and target
// distribution from the top entry of debian/changelog, and the architectures of its binary
// packages from debian/control. Pure text in, data out: the CLI, the webhooks and the tests
// share it (the shipped VCS hooks carry their own Python copy of the same rules).
import { parseDeb822 } from './deb822';

export class DebianSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DebianSourceError';
  }
}

export interface ChangelogHead {
  source: string;
  version: string;
  /** The first distribution named in the entry (`unstable`, `bookworm-backports`, …). */
  distribution: string;
  /** Every distribution the entry names. */
  distributions: string[];
  urgency: string | null;
}

// dpkg's pattern for a changelog entry's first line (Dpkg::Changelog::Entry::Debian), with '_'
// also allowed in distribution names: a farm's suite names may hold one.
const HEADER = /^(\w[-+0-9a-z.]*) \(([^()\s]+)\)((?:\s+[-+0-9a-zA-Z._/]+)+)\s*;(.*)$/i;

/** Reads the top entry's header line of a debian/changelog. */
export function parseChangelogHead(text: string, where = 'debian/changelog'): ChangelogHead {
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
  if (first < 0) throw new DebianSourceError(`${where}: empty`);
  const line = lines[first]!;
  const m = HEADER.exec(line);
  if (!m) throw new DebianSourceError(`${where}: line ${first + 1} is not a changelog entry header ('source (version) distribution; urgency=…'): ${JSON.stringify(line.slice(0, 120))}`);
  const distributions = m[3]!.trim().split(/\s+/);
  const urgency = /(?:^|[\s,])urgency=([^\s,]+)/i.exec(m[4]!)?.[1] ?? null;
  return { source: m[1]!, version: m[2]!, distribution: distributions[0]!, distributions, urgency };
}

export interface ControlInfo {
  source: string;
  /** Each binary package's Architecture words, unique, in order of appearance. */
  architectures: string[];
  binaries: string[];
}

/** Reads debian/control: the Source paragraph and every binary paragraph's Architecture. */
export function parseSourceControl(text: string, where = 'debian/control'): ControlInfo {
  let paras;
  try {
    paras = parseDeb822(text);
  } catch (e) {
    throw new DebianSourceError(`${where}: ${(e as Error).message}`);
  }
  const src = paras[0];
  const source = src?.get('source')?.split(/\s+/)[0];
  if (!source) throw new DebianSourceError(`${where}: the first paragraph has no Source field`);
  const archs: string[] = [];
  const binaries: string[] = [];
  for (const p of paras.slice(1)) {
    const pkg = p.get('package');
    if (!pkg) continue;
    binaries.push(pkg);
    const arch = p.get('architecture');
    if (!arch) throw new DebianSourceError(`${where}: binary package '${pkg}' has no Architecture field`);
    for (const a of arch.split(/\s+/)) if (a && !archs.includes(a)) archs.push(a);
  }
  if (!binaries.length) throw new DebianSourceError(`${where}: no binary package paragraphs`);
  return { source, architectures: archs, binaries };
}

export interface DebianSourceInfo {
  source: string;
  version: string;
  distribution: string;
  /** pyBit's architecture_list: the control file's architectures joined by commas (`any,all`). */
  archList: string;
}

/** Both files together; their Source fields must agree. */
export function readDebianSource(changelog: string, control: string, where = 'debian'): DebianSourceInfo {
  const head = parseChangelogHead(changelog, `${where}/changelog`);
  const ctl = parseSourceControl(control, `${where}/control`);
  if (ctl.source !== head.source) {
    throw new DebianSourceError(`${where}: debian/changelog names source '${head.source}' but debian/control names '${ctl.source}'`);
  }
  return { source: head.source, version: head.version, distribution: head.distribution, archList: ctl.architectures.join(',') };
}
