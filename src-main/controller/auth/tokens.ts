// Issuing API tokens: one place that makes the secret and stores only its hash, for the CLI,
// `box`, the desktop app's launch tokens and /api/v1/tokens.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema';
import { nowText } from '../db/time';
import { hashToken, newToken } from './passwords';

/** Stores a new token and returns it (the only time the secret exists outside its holder). */
export async function issueToken(
  q: Kysely<Database> | Transaction<Database>,
  t: { kind: 'user' | 'worker'; userId: number | null; name: string },
): Promise<{ token: string; id: number }> {
  const token = newToken();
  const row = await q
    .insertInto('tokens')
    .values({ user_id: t.userId, name: t.name, kind: t.kind, token_hash: hashToken(token), created_at: nowText(), revoked_at: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { token, id: row.id };
}
