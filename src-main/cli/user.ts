// `buildbox user add|passwd|token|list`: accounts and API tokens, straight on the database.
import type { Command } from 'commander';
import { openDatabase } from '../controller/db/connect';
import { defaultDataDir } from './options';
import { join } from 'node:path';
import { generatePassword, hashPassword } from '../controller/auth/passwords';
import { issueToken } from '../controller/auth/tokens';
import { nowText } from '../controller/db/time';
import { seed } from '../controller/db/seed';

interface DbFlags {
  db?: string;
  dataDir?: string;
}

async function withDb<T>(o: DbFlags, fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const db = await openDatabase(o.db ?? process.env.BUILDBOX_DB ?? join(o.dataDir ?? defaultDataDir(), 'buildbox.db'));
  try {
    await seed(db, { adminPassword: process.env.BUILDBOX_ADMIN_PASSWORD || undefined });
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function readPassword(given: string | undefined): Promise<{ password: string; generated: boolean }> {
  if (given) return { password: given, generated: false };
  if (process.env.BUILDBOX_PASSWORD) return { password: process.env.BUILDBOX_PASSWORD, generated: false };
  return { password: generatePassword(), generated: true };
}

export function registerUser(program: Command): void {
  const user = program.command('user').description('manage users and API tokens');
  const dbOpts = (c: Command) => c.option('--db <url>', 'SQLite file or postgres:// URL').option('--data-dir <dir>', 'data directory');

  dbOpts(user.command('add <name>').description('create a user').option('--password <pw>', 'password (default: generated and printed)').option('--admin', 'make an administrator')).action(
    async (name: string, o: DbFlags & { password?: string; admin?: boolean }) => {
      await withDb(o, async (db) => {
        const exists = await db.kysely.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
        if (exists) throw new Error(`user '${name}' already exists`);
        const { password, generated } = await readPassword(o.password);
        await db.kysely.insertInto('users').values({ name, password_hash: await hashPassword(password), is_admin: o.admin ? 1 : 0, created_at: nowText() }).execute();
        process.stdout.write(generated ? `Created user '${name}' with password: ${password}\n` : `Created user '${name}'\n`);
      });
    },
  );
  dbOpts(user.command('passwd <name>').description("set a user's password").option('--password <pw>', 'new password (default: generated and printed)')).action(
    async (name: string, o: DbFlags & { password?: string }) => {
      await withDb(o, async (db) => {
        const { password, generated } = await readPassword(o.password);
        const r = await db.kysely.updateTable('users').set({ password_hash: await hashPassword(password) }).where('name', '=', name).executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) throw new Error(`no user '${name}'`);
        process.stdout.write(generated ? `New password for '${name}': ${password}\n` : `Password changed for '${name}'\n`);
      });
    },
  );
  dbOpts(
    user
      .command('token <name>')
      .description("create an API token for a user, or a worker token with --worker (printed once)")
      .option('--worker', 'a worker token: may only claim jobs and report their status')
      .option('--label <label>', 'a name for the token'),
  ).action(async (name: string, o: DbFlags & { worker?: boolean; label?: string }) => {
    await withDb(o, async (db) => {
      let userId: number | null = null;
      if (!o.worker) {
        const u = await db.kysely.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
        if (!u) throw new Error(`no user '${name}'`);
        userId = u.id;
      }
      const { token } = await issueToken(db.kysely, { kind: o.worker ? 'worker' : 'user', userId, name: o.label ?? name });
      process.stdout.write(`${token}\n`);
    });
  });
  dbOpts(user.command('revoke <tokenPrefixOrId>').description('revoke a token by its id')).action(async (id: string, o: DbFlags) => {
    await withDb(o, async (db) => {
      const r = await db.kysely.updateTable('tokens').set({ revoked_at: nowText() }).where('id', '=', Number(id)).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new Error(`no active token with id ${id}`);
      process.stdout.write(`Revoked token ${id}\n`);
    });
  });
  dbOpts(user.command('list').description('list users and tokens')).action(async (o: DbFlags) => {
    await withDb(o, async (db) => {
      for (const u of await db.kysely.selectFrom('users').selectAll().orderBy('name').execute()) {
        process.stdout.write(`user  ${u.name}${u.is_admin ? ' (admin)' : ''}\n`);
      }
      for (const t of await db.kysely.selectFrom('tokens').selectAll().orderBy('id').execute()) {
        process.stdout.write(`token ${t.id} ${t.kind} ${t.name}${t.revoked_at ? ' (revoked)' : ''}\n`);
      }
    });
  });
}
