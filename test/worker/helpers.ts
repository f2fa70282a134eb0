// Shared bits for the worker tests: temp dirs, polling, the host architecture.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listProcesses } from '../../src-worker/process-table';

export const HOST_ARCH = execFileSync('dpkg', ['--print-architecture']).toString().trim();

export function tempDirs() {
  const made: string[] = [];
  return {
    make(prefix = 'bb-worker-'): string {
      const d = mkdtempSync(join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
    cleanup(): void {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Polls until `cond` holds; the test's own timeout bounds the wait. */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 50));
}

/** Live (non-zombie) processes whose command line contains `text`. */
export function processesMatching(text: string) {
  return listProcesses().filter((p) => p.cmdline.includes(text) && p.state !== 'Z' && p.pid !== process.pid);
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
