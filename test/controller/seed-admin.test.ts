// The 'admin' account is made for a database without administrators, and only then: one deleted
// in favour of named administrators stays deleted across restarts; a database left with no
// administrator at all gets it back (with the configured password) so it can be managed again.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src-main/controller/db/connect';
import { seed } from '../../src-main/controller/db/seed';
import { hashPassword, verifyPassword } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import { DIALECTS, type TestDb } from '../helpers/db';

describe.each(DIALECTS)('seeding the admin account ($name)', ({ make }) => {
  let t: TestDb;
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
    await t?.cleanup();
  });
  const users = async () => (await db!.kysely.selectFrom('users').select(['name', 'is_admin', 'password_hash']).orderBy('name').execute()).map((u) => ({ ...u, is_admin: Number(u.is_admin) }));

  it('makes admin on a new database, and not again once it was deleted for another administrator', async () => {
    t = make();
    db = await openDatabase(t.url);
    const first = await seed(db, { adminPassword: 'first-password' });
    expect(first.createdAdmin).toBe(true);
    expect((await users()).map((u) => [u.name, u.is_admin])).toEqual([['admin', 1]]);

    await db.kysely.insertInto('users').values({ name: 'alice', password_hash: await hashPassword('alice-password'), is_admin: 1, created_at: nowText() }).execute();
    await db.kysely.deleteFrom('users').where('name', '=', 'admin').execute();
    const again = await seed(db, { adminPassword: 'another-password' });
    expect(again.createdAdmin).toBe(false);
    expect((await users()).map((u) => u.name)).toEqual(['alice']);
  });

  it('gives a database without any administrator its admin back, with the configured password', async () => {
    t = make();
    db = await openDatabase(t.url);
    await seed(db, { adminPassword: 'first-password' });
    // admin demoted behind the API's back (the API refuses to remove the last administrator).
    await db.kysely.updateTable('users').set({ is_admin: 0 }).where('name', '=', 'admin').execute();
    const again = await seed(db, { adminPassword: 'recovery-password' });
    expect(again.createdAdmin).toBe(true);
    const [admin] = await users();
    expect(admin!.is_admin).toBe(1);
    expect(await verifyPassword('recovery-password', admin!.password_hash)).toBe(true);
  });
});
