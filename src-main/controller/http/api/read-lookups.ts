// GET /api/v1/lookups: every small configuration table in one response, for the UI's forms and
// filters. Edits still go through the pyBit routes (/arch, /suitearch, /blacklist, …).
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { apiRoutes, routerPath, type LookupsResponse } from '@shared/api';
import type { Database } from '../../db/schema';
import type { AuthDeps } from '../pybit/common';

export async function loadLookups(db: Kysely<Database>): Promise<LookupsResponse> {
  const named = (table: 'arch' | 'suite' | 'distribution' | 'format' | 'buildenv') =>
    db.selectFrom(table).select(['id', 'name']).orderBy('name').orderBy('id').execute();
  const [arches, suites, distributions, formats, statuses, buildEnvs, suiteArches, buildEnvSuiteArches, blacklist] = await Promise.all([
    named('arch'),
    named('suite'),
    named('distribution'),
    named('format'),
    // Statuses in id order: the seed inserts them in lifecycle order.
    db.selectFrom('status').select(['id', 'name']).orderBy('id').execute(),
    named('buildenv'),
    db
      .selectFrom('suitearches as sa')
      .innerJoin('suite as s', 's.id', 'sa.suite_id')
      .innerJoin('arch as a', 'a.id', 'sa.arch_id')
      .select(['sa.id', 'sa.suite_id', 's.name as suite', 'sa.arch_id', 'a.name as arch', 'sa.master_weight'])
      .orderBy('s.name')
      .orderBy('sa.master_weight', 'desc')
      .orderBy('sa.id')
      .execute(),
    db
      .selectFrom('buildenvsuitearch as besa')
      .innerJoin('buildenv as be', 'be.id', 'besa.buildenv_id')
      .innerJoin('suitearches as sa', 'sa.id', 'besa.suitearch_id')
      .innerJoin('suite as s', 's.id', 'sa.suite_id')
      .innerJoin('arch as a', 'a.id', 'sa.arch_id')
      .select(['besa.id', 'besa.buildenv_id', 'be.name as buildenv', 'besa.suitearch_id', 's.name as suite', 'a.name as arch'])
      .orderBy('besa.id')
      .execute(),
    db.selectFrom('blacklist').select(['id', 'field', 'regex']).orderBy('field').orderBy('id').execute(),
  ]);
  return {
    arches,
    suites,
    distributions,
    formats,
    statuses,
    buildEnvs,
    suiteArches: suiteArches.map((r) => ({
      id: r.id,
      suiteId: r.suite_id,
      suite: r.suite,
      archId: r.arch_id,
      arch: r.arch,
      masterWeight: Number(r.master_weight),
    })),
    buildEnvSuiteArches: buildEnvSuiteArches.map((r) => ({
      id: r.id,
      buildEnvId: r.buildenv_id,
      buildEnv: r.buildenv,
      suiteArchId: r.suitearch_id,
      suite: r.suite,
      arch: r.arch,
    })),
    blacklist,
  };
}

export function registerLookupsRead(app: FastifyInstance, deps: AuthDeps): void {
  const db = deps.ctx.db.kysely;
  app.get(routerPath(apiRoutes.lookups.path), async () => loadLookups(db));
}
