// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by file, and
// inclusive time of functions under the project's own directories. Used to find where the
// controller spends a submission:  npx tsx bench/tools/cpuprofile-summary.ts CPU.*.cpuprofile
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
const top = Number(process.argv[3] ?? 25);
if (!file) {
  process.stderr.write('usage: cpuprofile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Time per sample (µs) attributed to the sampled node.
const self = new Map<number, number>();
p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const short = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/work\/main\//, '').replace(/^.*node_modules\//, 'nm/');
const label = (n: Node) => `${n.callFrame.functionName || '(anon)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

function table(title: string, m: Map<string, number>, limit = top) {
  process.stdout.write(`\n${title} (total ${(total / 1000).toFixed(0)} ms)\n`);
  for (const [k, v] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}\n`);
  }
}

const selfFn = new Map<string, number>();
const selfFile = new Map<string, number>();
const incl = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  selfFn.set(label(n), (selfFn.get(label(n)) ?? 0) + t);
  const f = short(n.callFrame.url) || `(${n.callFrame.functionName})`;
  const pkg = f.startsWith('nm/') ? f.split('/').slice(0, f.startsWith('nm/@') ? 3 : 2).join('/') : f;
  selfFile.set(pkg, (selfFile.get(pkg) ?? 0) + t);
  // Inclusive: every distinct frame on the stack gets the sample once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + t);
  }
}
table('self time by function', selfFn);
table('self time by file / package', selfFile);
const own = new Map([...incl].filter(([k]) => / (src-main|src-shared|src-worker)\//.test(k)));
table('inclusive time, project functions', own);
