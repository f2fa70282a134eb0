// Counts statements sent by every pg client in this process (the controller's pool included), so
// the bench can report round trips per submission — on PostgreSQL each one costs ~0.13 ms here.
import pg from 'pg';

let count = 0;
let installed = false;

export function installPgCounter(): void {
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
}

export function pgStatements(): number {
  return count;
}
