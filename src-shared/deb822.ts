// Just enough deb822 for .dsc and .changes files: paragraphs of `Field: value` with
// continuation lines, optionally wrapped in an OpenPGP clear signature (which we strip,
// not verify: dpkg-source checks what it unpacks, and checksums are verified separately).

export type Paragraph = Map<string, string>;

export function stripClearSignature(text: string): string {
  const lines = text.split(/\r?\n/);
  if (!lines[0]?.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return text;
  let i = 1;
  while (i < lines.length && lines[i].trim() !== '') i++; // armor headers ("Hash: SHA512")
  const body: string[] = [];
  for (i++; i < lines.length; i++) {
    if (lines[i].startsWith('-----BEGIN PGP SIGNATURE-----')) break;
    body.push(lines[i].startsWith('- ') ? lines[i].slice(2) : lines[i]); // dash-escaping
  }
  return body.join('\n');
}

/** Parses paragraphs; field names are matched case-insensitively (keys are lower-cased). */
export function parseDeb822(text: string): Paragraph[] {
  const paras: Paragraph[] = [];
  let cur: Paragraph | null = null;
  let last: string | null = null;
  for (const line of stripClearSignature(text).split(/\r?\n/)) {
    if (line.trim() === '') {
      if (cur && cur.size) paras.push(cur);
      cur = null;
      last = null;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (/^[ \t]/.test(line)) {
      if (!cur || !last) throw new Error(`deb822: continuation line without a field: ${JSON.stringify(line)}`);
      cur.set(last, `${cur.get(last)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`deb822: not a field: ${JSON.stringify(line)}`);
    cur ??= new Map();
    last = line.slice(0, colon).trim().toLowerCase();
    cur.set(last, line.slice(colon + 1).trim());
  }
  if (cur && cur.size) paras.push(cur);
  return paras;
}

export interface ChecksumEntry {
  hash: string;
  size: number;
  name: string;
}

/**
 * Parses a multi-line checksum field (`Files`, `Checksums-Sha1`, `Checksums-Sha256`).
 * The hash is the first word, the size the second and the file name the last
 * (.changes `Files` lines carry section and priority in between).
 */
export function parseChecksums(value: string | undefined): ChecksumEntry[] {
  if (!value) return [];
  const out: ChecksumEntry[] = [];
  for (const line of value.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 3) continue;
    out.push({ hash: parts[0].toLowerCase(), size: Number(parts[1]), name: parts[parts.length - 1] });
  }
  return out;
}
