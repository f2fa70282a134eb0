// /suitearch, /buildenv_suitearch and /blacklist.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql, type Transaction } from 'kysely';
import { tag } from '@shared/jsonpickle';
import type { Database } from '../../db/schema';
import { HttpError } from '../errors';
import { type AuthDeps, MAX_DB_INT, field, idParam, intField, optionalField, pageCount, pageParam, parseIntStrict, readForm, requireUser, sendEmpty, sendJson, sendText } from './common';
import { deleteRow } from './delete-row';
import { LOOKUP_PAGE } from './lookups';

type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

function writeRoutes(app: FastifyInstance, deps: AuthDeps, prefix: string, table: 'suitearches' | 'buildenvsuitearch' | 'blacklist', create: Handler) {
  const guarded = (h: Handler): Handler => async (req, reply) => ((await requireUser(deps, req, reply)) ? h(req, reply) : reply);
  app.post(prefix, guarded(create));
  app.put(prefix, guarded(create));
  const del = guarded(async (req, reply) => {
    await deleteRow(deps.ctx, table, idParam((req.params as { id: string }).id));
    return sendText(reply, '200 DELETE OK', 200, 'text/html');
  });
  app.get(`${prefix}/:id/delete`, del);
  app.delete(`${prefix}/:id`, del);
}

export function registerMappingRoutes(app: FastifyInstance, deps: AuthDeps): void {
  const db = deps.ctx.db.kysely;

  // ---- suitearch
  const suiteArchQuery = () =>
    db
      .selectFrom('suitearches as sa')
      .innerJoin('suite as s', 's.id', 'sa.suite_id')
      .innerJoin('arch as a', 'a.id', 'sa.arch_id')
      .select(['sa.id', 'sa.master_weight', 's.id as s_id', 's.name as s_name', 'a.id as a_id', 'a.name as a_name']);
  type SaRow = Awaited<ReturnType<ReturnType<typeof suiteArchQuery>['execute']>>[number];
  const suiteArch = (r: SaRow) =>
    tag('SuiteArch', { id: r.id, suite: tag('Suite', { id: r.s_id, name: r.s_name }), arch: tag('Arch', { id: r.a_id, name: r.a_name }), master_weight: r.master_weight });

  app.get('/suitearch', async (_req, reply) =>
    sendJson(reply, (await suiteArchQuery().orderBy('sa.master_weight', 'desc').orderBy('sa.id').execute()).map(suiteArch)),
  );
  app.get('/suitearch/count', async (_req, reply) => sendText(reply, pageCount(await count('suitearches'), LOOKUP_PAGE), 200, 'application/json'));
  app.get('/suitearch/:id', async (req, reply) => {
    const r = await suiteArchQuery().where('sa.id', '=', idParam((req.params as { id: string }).id)).executeTakeFirst();
    if (!r) throw new HttpError(404, '404 - No suitearch found with this ID.');
    return sendJson(reply, suiteArch(r));
  });
  writeRoutes(app, deps, '/suitearch', 'suitearches', async (req, reply) => {
    const f = readForm(req);
    const suiteId = intField(f, 'suite_id');
    const archId = intField(f, 'arch_id');
    const w = optionalField(f, 'master_weight', 20);
    const weight = w === undefined || w === '' ? 0 : /^-?\d{1,10}$/.test(w) && Math.abs(Number(w)) <= MAX_DB_INT ? Number(w) : badWeight(w);
    await mustExist('suite', suiteId, 'suite_id');
    await mustExist('arch', archId, 'arch_id');
    await onePerPair(`buildbox.suitearch:${suiteId}:${archId}`, async (tx) => {
      const dup = await tx.selectFrom('suitearches').select('id').where('suite_id', '=', suiteId).where('arch_id', '=', archId).executeTakeFirst();
      if (dup) throw new HttpError(409, `suite ${suiteId} is already mapped to arch ${archId} (suitearch ${dup.id})`);
      await tx.insertInto('suitearches').values({ suite_id: suiteId, arch_id: archId, master_weight: weight }).execute();
    });
    return sendEmpty(reply);
  });

  // ---- buildenv_suitearch
  const besaQuery = () =>
    db
      .selectFrom('buildenvsuitearch as m')
      .leftJoin('buildenv as be', 'be.id', 'm.buildenv_id')
      .innerJoin('suitearches as sa', 'sa.id', 'm.suitearch_id')
      .innerJoin('suite as s', 's.id', 'sa.suite_id')
      .innerJoin('arch as a', 'a.id', 'sa.arch_id')
      .select(['m.id', 'be.id as be_id', 'be.name as be_name', 'sa.id as sa_id', 'sa.master_weight', 's.id as s_id', 's.name as s_name', 'a.id as a_id', 'a.name as a_name']);
  type BesaRow = Awaited<ReturnType<ReturnType<typeof besaQuery>['execute']>>[number];
  const besa = (r: BesaRow) =>
    tag('BuildEnvSuiteArch', {
      id: r.id,
      buildenv: r.be_id == null ? null : tag('BuildEnv', { id: r.be_id, name: r.be_name ?? '' }),
      suitearch: suiteArch({ id: r.sa_id, master_weight: r.master_weight, s_id: r.s_id, s_name: r.s_name, a_id: r.a_id, a_name: r.a_name }),
    });
  app.get('/buildenv_suitearch', async (_req, reply) => sendJson(reply, (await besaQuery().orderBy('m.id').execute()).map(besa)));
  app.get('/buildenv_suitearch/count', async (_req, reply) => sendText(reply, pageCount(await count('buildenvsuitearch'), LOOKUP_PAGE), 200, 'application/json'));
  app.get('/buildenv_suitearch/:id', async (req, reply) => {
    const r = await besaQuery().where('m.id', '=', idParam((req.params as { id: string }).id)).executeTakeFirst();
    if (!r) throw new HttpError(404, '404 - No buildenv_suitearch found with this ID.');
    return sendJson(reply, besa(r));
  });
  writeRoutes(app, deps, '/buildenv_suitearch', 'buildenvsuitearch', async (req, reply) => {
    const f = readForm(req);
    const envId = intField(f, 'buildenv_id');
    const saId = intField(f, 'suitearch_id');
    await mustExist('buildenv', envId, 'buildenv_id');
    await mustExist('suitearches', saId, 'suitearch_id');
    await onePerPair(`buildbox.buildenvsuitearch:${envId}:${saId}`, async (tx) => {
      const dup = await tx.selectFrom('buildenvsuitearch').select('id').where('buildenv_id', '=', envId).where('suitearch_id', '=', saId).executeTakeFirst();
      if (dup) throw new HttpError(409, `build environment ${envId} is already mapped to suitearch ${saId}`);
      await tx.insertInto('buildenvsuitearch').values({ buildenv_id: envId, suitearch_id: saId }).execute();
    });
    return sendEmpty(reply);
  });

  // ---- blacklist
  const rule = (r: { id: number; field: string; regex: string }) => tag('Blacklist', { id: r.id, field: r.field, regex: r.regex });
  const rules = async (page?: number) => {
    let q = db.selectFrom('blacklist').selectAll().orderBy('field').orderBy('id');
    if (page) q = q.limit(LOOKUP_PAGE).offset((page - 1) * LOOKUP_PAGE);
    return (await q.execute()).map(rule);
  };
  app.get('/blacklist', async (_req, reply) => sendJson(reply, await rules()));
  app.get('/blacklist/page/:page', async (req, reply) => sendJson(reply, await rules(pageParam((req.params as { page: string }).page))));
  app.get('/blacklist/count', async (_req, reply) => sendText(reply, pageCount(await count('blacklist'), LOOKUP_PAGE), 200, 'application/json'));
  app.get('/blacklist/:id', async (req, reply) => {
    const r = await db.selectFrom('blacklist').selectAll().where('id', '=', idParam((req.params as { id: string }).id)).executeTakeFirst();
    if (!r) throw new HttpError(404, '404 - No blacklist rule found with this ID.');
    return sendJson(reply, rule(r));
  });
  writeRoutes(app, deps, '/blacklist', 'blacklist', async (req, reply) => {
    const f = readForm(req);
    const fieldName = field(f, 'field', 50);
    const regex = field(f, 'regex', 1000);
    // pyBit stored any field name and ignored it silently (#135); say which ones match.
    if (fieldName !== 'name' && fieldName !== 'vcs_uri') {
      throw new HttpError(400, `blacklist 'field' must be 'name' (matches the source package name) or 'vcs_uri' (matches the transport URI), got '${fieldName}'`);
    }
    try {
      new RegExp(regex);
    } catch (e) {
      throw new HttpError(400, `blacklist 'regex' is not a valid regular expression: ${(e as Error).message}`);
    }
    // The same rule twice matches nothing more and only clutters the list; refused like a
    // duplicate mapping, under the same one-at-a-time check.
    await onePerPair(`buildbox.blacklist:${fieldName}:${regex}`, async (tx) => {
      const dup = await tx.selectFrom('blacklist').select('id').where('field', '=', fieldName).where('regex', '=', regex).executeTakeFirst();
      if (dup) throw new HttpError(409, `blacklist rule ${dup.id} already has field '${fieldName}' and regex '${regex}'`);
      await tx.insertInto('blacklist').values({ field: fieldName, regex }).execute();
    });
    return sendEmpty(reply);
  });

  /**
   * The duplicate check and the insert of one mapping as one step. pyBit had no unique constraint
   * on these pairs and databases migrated from it may hold duplicates, so no unique index can
   * refuse them; instead both run in one transaction, on PostgreSQL under a lock for the pair
   * (read committed: two concurrent requests would each miss the other's row). SQLite runs
   * transactions one at a time already.
   */
  async function onePerPair(lockKey: string, checkAndInsert: (tx: Transaction<Database>) => Promise<void>): Promise<void> {
    await db.transaction().execute(async (tx) => {
      if (deps.ctx.db.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${lockKey}))`.execute(tx);
      await checkAndInsert(tx);
    });
  }

  async function count(table: 'suitearches' | 'buildenvsuitearch' | 'blacklist'): Promise<number> {
    const { n } = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(n);
  }
  async function mustExist(table: 'suite' | 'arch' | 'buildenv' | 'suitearches', id: number, what: string) {
    const r = await db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst();
    if (!r) throw new HttpError(400, `'${what}' ${id} does not exist`);
  }
  function badWeight(w: string): never {
    throw new HttpError(400, `'master_weight' must be an integer from -${MAX_DB_INT} to ${MAX_DB_INT}, got '${w.slice(0, 40)}'`);
  }
  void parseIntStrict;
}
