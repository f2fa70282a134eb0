// BUILDBOX_SQLITE_BINDING: the desktop app opens its database with better-sqlite3's addon built
// for Electron; here a copy of Node's own build stands in for it at another path.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/controller/db/connect';

const require = createRequire(import.meta.url);
const nodeAddon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');

describe('BUILDBOX_SQLITE_BINDING', () => {
  const saved = process.env.BUILDBOX_SQLITE_BINDING;
  const dirs: string[] = [];
  afterEach(() => {
    if (saved === undefined) delete process.env.BUILDBOX_SQLITE_BINDING;
    else process.env.BUILDBOX_SQLITE_BINDING = saved;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'bb-binding-'));
    dirs.push(d);
    return d;
  };

  it('opens and migrates the database with the addon it names', async () => {
    const d = dir();
    const addon = join(d, 'better_sqlite3-electron-test.node');
    copyFileSync(nodeAddon, addon);
    process.env.BUILDBOX_SQLITE_BINDING = addon;
    const db = await openDatabase(join(d, 'x.db'));
    try {
      const users = await db.kysely.selectFrom('users').select('id').execute();
      expect(Array.isArray(users)).toBe(true);
      // The addon really came from the named file (native addons are cached by path).
      expect(Object.keys(require.cache)).toContain(addon);
    } finally {
      await db.close();
    }
  });

  it('says which file is missing instead of failing deep inside the addon loader', async () => {
    const d = dir();
    process.env.BUILDBOX_SQLITE_BINDING = join(d, 'nowhere.node');
    await expect(openDatabase(join(d, 'x.db'))).rejects.toThrow(`BUILDBOX_SQLITE_BINDING names ${join(d, 'nowhere.node')}, which does not exist`);
  });
});
