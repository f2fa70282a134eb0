// Status name → id, loaded once and reloaded when /status changes (the table is editable).
import type { Db } from './db/connect';
import type { StatusCache } from './context';

export function createStatusCache(db: Db): StatusCache {
  const load = async () => new Map((await db.kysely.selectFrom('status').select(['id', 'name']).execute()).map((r) => [r.name, r.id] as const));
  // Loaded eagerly (now and on invalidate), never lazily: id() is called inside transactions,
  // and on SQLite a first load there would wait for the one connection the transaction holds.
  const eager = () => {
    const p = load();
    p.catch(() => {}); // a failed load is retried by the next id()
    return p;
  };
  let map: Promise<Map<string, number>> | null = eager();
  return {
    async id(name) {
      map ??= load();
      try {
        return (await map).get(name);
      } catch (e) {
        map = null;
        throw e;
      }
    },
    invalidate() {
      map = eager();
    },
  };
}
