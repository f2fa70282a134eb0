// First-start data: the seven statuses, distribution Debian, format deb, and the admin account.
// `--sample-data` adds pyBit's developer sample set (spec/pybit.md §2.3).
import type { Db } from './connect';
import { STATUSES } from '@shared/statuses';
import { nowText } from './time';
import { generatePassword, hashPassword } from '../auth/passwords';

async function ensureNames(db: Db, table: 'arch' | 'status' | 'distribution' | 'format' | 'suite' | 'buildclients', names: string[]) {
  for (const name of names) {
    await db.kysely.insertInto(table).values({ name } as never).onConflict((oc) => oc.column('name').doNothing()).execute();
  }
}

export interface SeedResult {
  /** Set only when this start created the admin account with a generated password. */
  generatedAdminPassword?: string;
  createdAdmin: boolean;
}

export async function seed(db: Db, opts: { adminPassword?: string; sampleData?: boolean } = {}): Promise<SeedResult> {
  const done = await db.kysely.selectFrom('meta').select('value').where('key', '=', 'seeded').executeTakeFirst();
  const result: SeedResult = { createdAdmin: false };
  if (!done) {
    await ensureNames(db, 'status', [...STATUSES]);
    await ensureNames(db, 'distribution', ['Debian']);
    await ensureNames(db, 'format', ['deb']);
    await db.kysely.insertInto('meta').values({ key: 'seeded', value: nowText() }).execute();
  }
  // 'admin' is made when no administrator exists (a new database, or every one removed), not
  // whenever a user of that name is missing: an administrator who deleted 'admin' in favour of
  // named accounts must not find it back, with a new password, after a restart.
  const anyAdmin = await db.kysely.selectFrom('users').select('id').where('is_admin', '=', 1).executeTakeFirst();
  if (!anyAdmin) {
    const password = opts.adminPassword || generatePassword();
    const r = await db.kysely
      .insertInto('users')
      .values({ name: 'admin', password_hash: await hashPassword(password), is_admin: 1, created_at: nowText() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ password_hash: (eb) => eb.ref('excluded.password_hash'), is_admin: 1 }))
      .executeTakeFirst();
    result.createdAdmin = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    if (result.createdAdmin && !opts.adminPassword) result.generatedAdminPassword = password;
  }
  if (opts.sampleData) await sampleData(db);
  return result;
}

async function sampleData(db: Db): Promise<void> {
  await ensureNames(db, 'arch', ['armel', 'i386']);
  await ensureNames(db, 'suite', ['chickpea', 'development', 'illgill']);
  await ensureNames(db, 'buildclients', ['build_client_pyarm01', 'build_client_arm02', 'build_client_buildbox']);
  const arches = await db.kysely.selectFrom('arch').selectAll().where('name', 'in', ['armel', 'i386']).execute();
  const suites = await db.kysely.selectFrom('suite').selectAll().where('name', 'in', ['chickpea', 'development', 'illgill']).execute();
  for (const s of suites) {
    for (const a of arches) {
      const exists = await db.kysely
        .selectFrom('suitearches')
        .select('id')
        .where('suite_id', '=', s.id)
        .where('arch_id', '=', a.id)
        .executeTakeFirst();
      if (!exists) {
        await db.kysely
          .insertInto('suitearches')
          .values({ suite_id: s.id, arch_id: a.id, master_weight: a.name === 'i386' ? 1 : 0 })
          .execute();
      }
    }
  }
  const envs = await db.kysely.selectFrom('buildenv').select('name').execute();
  for (const name of ['squeeze', 'wheezy']) {
    if (!envs.some((e) => e.name === name)) await db.kysely.insertInto('buildenv').values({ name }).execute();
  }
}
