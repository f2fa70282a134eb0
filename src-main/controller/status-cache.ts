// Status name → id, loaded once and reloaded when /status changes (the table is editable).
import type { Db } from './db/connect';
import type { StatusCache } from './context';

export function createStatusCache(db: Db): StatusCache {
  let map: Promise<Map<string, number>> | null = null;
  const load = async () => new Map((await db.kysely.selectFrom('status').select(['id', 'name']).execute()).map((r) => [r.name, r.id] as const));
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
      map = null;
    },
  };
}
