// One table per section: every figure is printed beside the floor measured in the same run, so
// the ratio (not the absolute number, which depends on the machine) is what we track.

export type Goal =
  /** value / floor must reach `min` (throughput-like figures). */
  | { kind: 'ratio-min'; min: number; alsoMin?: number }
  /** value / floor must stay at or under `max`, and optionally value under `abs` (latency-like). */
  | { kind: 'ratio-max'; max: number; abs?: number }
  /** Informational: no goal. */
  | { kind: 'none' };

export interface Row {
  figure: string;
  /** null = not measured; `note` says why. */
  value: number | null;
  unit: string;
  floor: number | null;
  goal: Goal;
  note?: string;
}

export interface SectionResult {
  rows: Row[];
  /** Lines printed under the table: what each floor is, how a figure was taken. */
  notes: string[];
}

export function ratio(r: Row): number | null {
  if (r.value == null || r.floor == null || r.floor === 0) return null;
  return r.value / r.floor;
}

export function goalText(g: Goal, unit: string): string {
  switch (g.kind) {
    case 'ratio-min':
      return `≥ ${g.min.toFixed(2)}× floor${g.alsoMin !== undefined ? `, ≥ ${g.alsoMin} ${unit}` : ''}`;
    case 'ratio-max':
      return `≤ ${g.max}× floor${g.abs !== undefined ? `, < ${g.abs} ${unit}` : ''}`;
    case 'none':
      return '—';
  }
}

export function verdict(r: Row): string {
  if (r.value == null) return r.goal.kind === 'none' ? '—' : 'n/a';
  const q = ratio(r);
  switch (r.goal.kind) {
    case 'ratio-min':
      if (q == null) return 'n/a';
      return q >= r.goal.min && (r.goal.alsoMin === undefined || r.value >= r.goal.alsoMin) ? 'PASS' : 'MISS';
    case 'ratio-max':
      if (q == null) return 'n/a';
      return q <= r.goal.max && (r.goal.abs === undefined || r.value < r.goal.abs) ? 'PASS' : 'MISS';
    case 'none':
      return 'info';
  }
}

/** Three significant digits, without exponent notation. */
export function num(v: number | null): string {
  if (v == null) return '—';
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

export function formatTable(title: string, res: SectionResult): string {
  const head = ['figure', 'value', 'unit', 'floor', 'ratio', 'goal', 'result'];
  const body = res.rows.map((r) => {
    const q = ratio(r);
    return [
      r.figure,
      r.value == null ? (r.note ?? 'not measured') : num(r.value),
      r.unit,
      num(r.floor),
      q == null ? '—' : `${q.toFixed(2)}×`,
      goalText(r.goal, r.unit),
      verdict(r),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([1, 3, 4]);
  const line = (cells: string[]) =>
    cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [`== ${title} ==`, line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const b of body) out.push(line(b));
  for (const n of res.notes) out.push(`  * ${n}`);
  return out.join('\n');
}
