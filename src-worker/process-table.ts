// Reads the Linux process table from /proc. run-command uses it to know whether a process
// group still has live members after its leader exited (children that ignored SIGINT keep
// running). Zombies are ignored: they are dead, and in containers nobody may reap them.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** One-letter state from /proc/<pid>/stat (R, S, D, Z, T, ...). */
  state: string;
  cmdline: string;
}

function readEntry(pid: number): ProcessEntry | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces or ')'; fields follow the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      /* the process vanished between the two reads */
    }
    return { pid, state: rest[0], ppid: Number(rest[1]), pgid: Number(rest[2]), cmdline };
  } catch {
    return null;
  }
}

export function hasProcTable(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

export function listProcesses(): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const e = readEntry(Number(name));
    if (e) out.push(e);
  }
  return out;
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number): ProcessEntry[] {
  return listProcesses().filter((p) => p.pgid === pgid && p.state !== 'Z' && p.state !== 'X');
}

export function groupAlive(pgid: number): boolean {
  if (hasProcTable()) return groupMembers(pgid).length > 0;
  // Without /proc, kill(0) tells whether any process (zombies included) is in the group.
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
