// Reading .dsc and .changes files: which files belong to them and their checksums
// (Files / Checksums-Sha1 / Checksums-Sha256). Pure text in, data out: used by the worker's
// fetchers and backends and by the controller's upload route.
import { parseChecksums, parseDeb822, type ChecksumEntry } from './deb822';

export interface ListedFile {
  name: string;
  size: number;
  md5?: string;
  sha1?: string;
  sha256?: string;
}

export interface ControlFileInfo {
  source: string;
  version: string;
  /** The Architecture field's words. */
  architecture: string[];
  files: ListedFile[];
  fields: Map<string, string>;
}

/** A file name listed in a .dsc/.changes must be a plain name: no directories, no `..`. */
export function isSafeFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\\') && !name.includes('\0');
}

function mergeChecksums(fields: Map<string, string>): ListedFile[] {
  const byName = new Map<string, ListedFile>();
  const add = (entries: ChecksumEntry[], key: 'md5' | 'sha1' | 'sha256') => {
    for (const e of entries) {
      if (!isSafeFileName(e.name)) throw new Error(`unsafe file name in control file: ${JSON.stringify(e.name)}`);
      const f = byName.get(e.name) ?? { name: e.name, size: e.size };
      f[key] = e.hash;
      byName.set(e.name, f);
    }
  };
  add(parseChecksums(fields.get('files')), 'md5');
  add(parseChecksums(fields.get('checksums-sha1')), 'sha1');
  add(parseChecksums(fields.get('checksums-sha256')), 'sha256');
  return [...byName.values()];
}

export function parseControlFile(text: string): ControlFileInfo {
  const para = parseDeb822(text)[0];
  if (!para) throw new Error('empty control file');
  const source = (para.get('source') ?? '').split(/\s+/)[0];
  const version = para.get('version') ?? '';
  if (!source || !version) throw new Error('control file lacks Source or Version');
  return {
    source,
    version,
    architecture: (para.get('architecture') ?? '').split(/\s+/).filter(Boolean),
    files: mergeChecksums(para),
    fields: para,
  };
}

/** `1:2.0-3` → `2.0-3`: file names never carry the epoch. */
export function versionWithoutEpoch(version: string): string {
  const i = version.indexOf(':');
  return i >= 0 ? version.slice(i + 1) : version;
}

/** `1:2.0-3` → `2.0`. */
export function upstreamVersion(version: string): string {
  const v = versionWithoutEpoch(version);
  const i = v.lastIndexOf('-');
  return i > 0 ? v.slice(0, i) : v;
}
