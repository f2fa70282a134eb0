// A multi-row INSERT without the query builder, for the few inserts every submission makes:
// Kysely parses and compiles each insert anew (tens of microseconds, more than SQLite takes to
// run it). The SQL text depends only on the table, the columns and the row count, so it is
// made once per shape and then reused, which also keeps the statement caches hitting.
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema';
import type { Dialect } from './migrations';

type Tx = Kysely<Database> | Transaction<Database>;

const texts = new Map<string, string>();
const MAX_SHAPES = 200;

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function insertText(dialect: Dialect, table: string, columns: readonly string[], rows: number, returning: readonly string[], skipOn: readonly string[]): string {
  const key = `${dialect}\0${table}\0${columns.join(',')}\0${rows}\0${returning.join(',')}\0${skipOn.join(',')}`;
  let text = texts.get(key);
  if (text === undefined) {
    let n = 0;
    const ph = () => (dialect === 'postgres' ? `$${++n}` : '?');
    const values = Array.from({ length: rows }, () => `(${columns.map(ph).join(', ')})`).join(', ');
    text = `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values ${values}`;
    if (skipOn.length > 0) text += ` on conflict (${skipOn.map(quote).join(', ')}) do nothing`;
    if (returning.length > 0) text += ` returning ${returning.map(quote).join(', ')}`;
    if (texts.size >= MAX_SHAPES) texts.clear();
    texts.set(key, text);
  }
  return text;
}

/**
 * Inserts `rows` (every row with exactly `columns`, in that order) and returns the `returning`
 * columns of the inserted rows. `opts.skipOn`: a unique key; rows that would duplicate it are
 * skipped (ON CONFLICT DO NOTHING) and return nothing.
 */
export async function insertRows<T extends keyof Database & string, C extends keyof Database[T] & string, R extends keyof Database[T] & string = never>(
  tx: Tx,
  dialect: Dialect,
  table: T,
  columns: readonly C[],
  rows: ReadonlyArray<Record<C, unknown>>,
  returning: readonly R[] = [],
  opts: { skipOn?: readonly C[] } = {},
): Promise<Array<Record<R, number>>> {
  if (rows.length === 0) return [];
  const params: unknown[] = [];
  for (const r of rows) for (const c of columns) params.push(r[c] ?? null);
  const res = await tx.executeQuery<Record<R, number>>(CompiledQuery.raw(insertText(dialect, table, columns, rows.length, returning, opts.skipOn ?? []), params));
  return res.rows;
}
