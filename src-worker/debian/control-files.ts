// .dsc/.changes parsing lives in src-shared/dsc.ts (the controller reads uploads too); this
// module keeps the worker's import path and adds reading from disk.
import { readFileSync } from 'node:fs';
import { parseControlFile, type ControlFileInfo } from '@shared/dsc';

export * from '@shared/dsc';

export function readControlFile(path: string): ControlFileInfo {
  return parseControlFile(readFileSync(path, 'utf8'));
}
