// pyBit's delete contract: 200 DELETE OK, 404 for a missing row, 409 while something references it.
import type { Ctx } from '../../context';
import type { Database } from '../../db/schema';
import { HttpError } from '../errors';
import { isForeignKeyViolation } from '../../db/errors';

export async function deleteRow(ctx: Ctx, table: keyof Database & string, id: number): Promise<void> {
  try {
    const res = await ctx.db.kysely.deleteFrom(table as 'arch').where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw new HttpError(404, '404 Cannot DELETE', '404 Cannot DELETE');
  } catch (e) {
    if (isForeignKeyViolation(e)) throw new HttpError(409, '409 FOREIGN_KEY_VIOLATION: other records still refer to it', '409 FOREIGN_KEY_VIOLATION');
    throw e;
  }
}
