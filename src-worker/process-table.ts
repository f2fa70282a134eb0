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
  /** CPU time used so far (user + system, in clock ticks). */
  cpuTicks: number;
  /** When it started (clock ticks after boot): with the pid, tells a process from a later one given the same pid. */
  startTime: number;
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
    return { pid, state: rest[0], ppid: Number(rest[1]), pgid: Number(rest[2]), cmdline, cpuTicks: Number(rest[11]) + Number(rest[12]), startTime: Number(rest[19]) };
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

/** Whether the kernel knows any process (zombies included) in group `pgid`: one system call, no /proc walk. */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Whether the process has `sig` set to be ignored (SigIgn in /proc/<pid>/status); null when unknown. */
export function ignoresSignal(pid: number, sig: NodeJS.Signals): boolean | null {
  const n = SIGNAL_NUMBERS[sig];
  if (n === undefined) return null;
  try {
    const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? ((BigInt(`0x${m[1]}`) >> BigInt(n - 1)) & 1n) === 1n : null;
  } catch {
    return null;
  }
}

/**
 * Whether nothing among `members` (a process group, plus whatever else the caller follows) can
 * react to `sig` any more: every one sleeps and either ignores it or has children among them
 * (it waits for them). Returns a fingerprint (members and their CPU time) when so, to compare
 * over time: a set whose fingerprint stays the same is stuck; one that uses CPU or changes
 * members is still at work. null otherwise.
 */
export function stuckFingerprint(members: readonly ProcessEntry[], sig: NodeJS.Signals): string | null {
  if (members.length === 0) return null;
  const parents = new Set(members.map((p) => p.ppid));
  for (const p of members) {
    if (p.state !== 'S' && p.state !== 'T' && p.state !== 't') return null;
    if (!parents.has(p.pid) && ignoresSignal(p.pid, sig) !== true) return null;
  }
  return members
    .map((p) => `${p.pid}:${p.cpuTicks}`)
    .sort()
    .join(',');
}

/**
 * Follows everything a command started, also processes that left its process group. sbuild
 * runs dpkg-buildpackage with setsid() inside its unshare namespace, so signalling the group
 * alone can report a build stopped while its processes are still being torn down (or, if they
 * ignore the signal, live on). Each refresh adds the live descendants of the group and of the
 * processes already followed; a process is followed by pid and start time, so a recycled pid is
 * not mistaken for it. Descendants that were orphaned before the first refresh (reparented to
 * init) cannot be found: refresh while the tree is still whole, e.g. right before signalling.
 */
export class ProcessTracker {
  private readonly known = new Map<number, number>();
  constructor(private readonly pgid: number) {}

  /** Nothing followed yet (or everything followed was gone at the last refresh). */
  followsNothing(): boolean {
    return this.known.size === 0;
  }

  /** Live members of the group and live followed processes outside it, after following new descendants. */
  refresh(): { group: ProcessEntry[]; escaped: ProcessEntry[] } {
    const live = listProcesses().filter((p) => p.state !== 'Z' && p.state !== 'X');
    const byPid = new Map(live.map((p) => [p.pid, p]));
    for (const [pid, start] of this.known) if (byPid.get(pid)?.startTime !== start) this.known.delete(pid);
    const children = new Map<number, ProcessEntry[]>();
    for (const p of live) {
      const list = children.get(p.ppid);
      if (list) list.push(p);
      else children.set(p.ppid, [p]);
    }
    const todo = live.filter((p) => p.pgid === this.pgid || this.known.has(p.pid));
    while (todo.length > 0) {
      const p = todo.pop()!;
      this.known.set(p.pid, p.startTime);
      for (const c of children.get(p.pid) ?? []) if (this.known.get(c.pid) !== c.startTime) todo.push(c);
    }
    const followed = [...this.known.keys()].map((pid) => byPid.get(pid)).filter((p): p is ProcessEntry => p !== undefined);
    return { group: followed.filter((p) => p.pgid === this.pgid), escaped: followed.filter((p) => p.pgid !== this.pgid) };
  }
}
