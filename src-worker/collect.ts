// Gathering a build's results: the .changes file(s) in the build directory, every file they
// list (verified against their sizes and SHA-256 sums) and the .buildinfo.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readControlFile } from './debian/control-files';
import { digestFile } from './file-hash';

export interface CollectedResults {
  /** The main .changes (the one for the build architecture when there are several). */
  changesFile?: string;
  /** Absolute paths: .changes first, then the files they list, then any unlisted .buildinfo. */
  files: string[];
  /** Why the results are incomplete, if they are. */
  problem?: string;
}

export async function collectChanges(dir: string, arch?: string): Promise<CollectedResults> {
  const names = existsSync(dir) ? readdirSync(dir).sort() : [];
  const changes = names.filter((n) => n.endsWith('.changes'));
  if (!changes.length) return { files: [], problem: 'the build produced no .changes file' };

  const files: string[] = [];
  const add = (p: string) => {
    if (!files.includes(p)) files.push(p);
  };
  const problems: string[] = [];
  for (const c of changes) {
    add(join(dir, c));
    let info;
    try {
      info = readControlFile(join(dir, c));
    } catch (err) {
      problems.push(`${c}: ${(err as Error).message}`);
      continue;
    }
    for (const f of info.files) {
      const path = join(dir, f.name);
      if (!existsSync(path)) {
        problems.push(`${c} lists ${f.name}, which is missing`);
        continue;
      }
      const d = await digestFile(path);
      if (d.size !== f.size || (f.sha256 && f.sha256 !== d.sha256)) {
        problems.push(`${f.name} does not match the checksums in ${c}`);
        continue;
      }
      add(path);
    }
  }
  for (const n of names) if (n.endsWith('.buildinfo')) add(join(dir, n));

  const main = (arch && changes.find((c) => c.endsWith(`_${arch}.changes`))) || changes[0];
  return { changesFile: join(dir, main), files, problem: problems.length ? problems.join('; ') : undefined };
}
