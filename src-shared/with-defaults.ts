// Options over defaults, where an option given as undefined keeps its default. A plain spread
// lets an explicit `undefined` win, which callers that pass their own optional settings through
// (`{ stopGraceMs: o.stopGraceMs }`) do without meaning to: a timeout of undefined is 0 ms.
export function withDefaults<T extends object, O extends object = Partial<T>>(defaults: T, opts: O | undefined): T & O {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  if (opts) for (const [k, v] of Object.entries(opts)) if (v !== undefined) out[k] = v;
  return out as T & O;
}
