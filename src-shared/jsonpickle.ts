// pyBit speaks jsonpickle: every object carries "py/object": "pybit.models.<Class>".
// We emit plain nested objects (never py/id back-references) and accept py/id when reading.

export const PY_OBJECT = 'py/object';
export const PY_ID = 'py/id';

export type Tagged<T> = { 'py/object': string } & T;

/** Puts the type tag first, then the fields in the order given (jsonpickle's output order). */
export function tag<T extends object>(cls: string, fields: T): Tagged<T> {
  return { [PY_OBJECT]: `pybit.models.${cls}`, ...fields } as Tagged<T>;
}

/**
 * Decodes a jsonpickle document: resolves `{"py/id": n}` references to the n-th object
 * seen (1-based, in document order, as jsonpickle numbers them) and keeps the tags.
 */
export function decodeJsonpickle(text: string): unknown {
  const root = JSON.parse(text) as unknown;
  const seen: object[] = [];
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      seen.push(v);
      return v.map(walk);
    }
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === PY_ID && typeof o[PY_ID] === 'number') {
        const ref = seen[(o[PY_ID] as number) - 1];
        if (!ref) throw new Error(`jsonpickle: dangling py/id ${String(o[PY_ID])}`);
        return ref;
      }
      const out: Record<string, unknown> = {};
      seen.push(out);
      for (const k of keys) out[k] = walk(o[k]);
      return out;
    }
    return v;
  };
  return walk(root);
}

export function classOf(v: unknown): string | undefined {
  if (v && typeof v === 'object' && typeof (v as Record<string, unknown>)[PY_OBJECT] === 'string') {
    const s = (v as Record<string, string>)[PY_OBJECT];
    return s.startsWith('pybit.models.') ? s.slice('pybit.models.'.length) : s;
  }
  return undefined;
}
