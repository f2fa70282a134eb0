// Everything a submission reads before it writes, in one statement: blacklist rules, the suite,
// distribution and format rows, the architecture names, the suite's (arch, build environment)
// mappings, the package row and its instances for this suite, and the unfinished jobs of the
// same package name that a new version may supersede. The lookup tables are small, and on
// PostgreSQL every round trip costs more than reading them. Read inside the submission's
// transaction (after its per-package lock), so no cache can go stale when another process
// edits the tables, and the package state read is the one the submission then writes to.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema';
import { UNFINISHED_STATUSES } from '@shared/statuses';

type Tx = Kysely<Database> | Transaction<Database>;

export interface NamedRow {
  id: number;
  name: string;
}

export interface SuiteArchRow {
  sa_id: number;
  arch_id: number;
  arch: string;
  weight: number;
  env_id: number | null;
  env: string | null;
}

export interface SubmissionLookups {
  /** Blacklist rules in id order. */
  blacklist: Array<{ id: number; field: string; regex: string }>;
  suite: NamedRow | undefined;
  dist: NamedRow | undefined;
  format: NamedRow | undefined;
  /** Every architecture (id → name). */
  arches: Map<number, string>;
  /** The suite's arches, one row per (suitearch, build environment); unordered. */
  suiteArches: SuiteArchRow[];
  /** The package (name, version), when it exists. */
  packageId: number | undefined;
  /** Its instances in this suite, distribution and format, in id order. */
  instances: Array<{ id: number; arch_id: number; env_id: number | null; master: number }>;
  /** Unfinished jobs of any version of the package name in this suite and distribution, in id order. */
  unfinished: UnfinishedJob[];
}

export interface UnfinishedJob {
  id: number;
  version: string;
  arch_id: number;
  env_id: number | null;
}

interface Row {
  k: string;
  id: number | string;
  s1: string | null;
  s2: string | null;
  n1: number | string | null;
  n2: number | string | null;
  n3: number | string | null;
}

const num = (v: number | string | null): number | null => (v == null ? null : Number(v));

export async function submissionLookups(
  tx: Tx,
  sub: { suite: string; dist: string; format: string; name: string; version: string },
): Promise<SubmissionLookups> {
  const unfinished = sql.join(UNFINISHED_STATUSES.map((st) => sql`${st}`));
  // Typed NULLs in the first branch give every column one type on PostgreSQL. Names are
  // resolved in scalar subqueries rather than joins: on SQLite every joined table costs a
  // cursor even when no row reaches it, which made this statement several times slower.
  const { rows } = await sql<Row>`
    select 'b' as k, id, field as s1, regex as s2, cast(null as integer) as n1, cast(null as integer) as n2, cast(null as integer) as n3 from blacklist
    union all select 's', id, name, null, null, null, null from suite where name = ${sub.suite}
    union all select 'd', id, name, null, null, null, null from distribution where name = ${sub.dist}
    union all select 'f', id, name, null, null, null, null from format where name = ${sub.format}
    union all select 'a', id, name, null, null, null, null from arch
    union all select 'x', sa.id, a.name, be.name, a.id, sa.master_weight, be.id
      from suitearches sa
      inner join arch a on a.id = sa.arch_id
      left join buildenvsuitearch besa on besa.suitearch_id = sa.id
      left join buildenv be on be.id = besa.buildenv_id
      where sa.suite_id = (select id from suite where name = ${sub.suite})
    union all select 'p', id, null, null, null, null, null from package where name = ${sub.name} and version = ${sub.version}
    union all select 'i', pi.id, null, null, pi.arch_id, pi.master, pi.buildenv_id
      from packageinstance pi
      where pi.package_id = (select id from package where name = ${sub.name} and version = ${sub.version})
        and pi.suite_id = (select id from suite where name = ${sub.suite})
        and pi.dist_id = (select id from distribution where name = ${sub.dist})
        and pi.format_id = (select id from format where name = ${sub.format})
    union all select 'o', j.id, p.version, null, pi.arch_id, null, pi.buildenv_id
      from package p
      inner join packageinstance pi on pi.package_id = p.id
      inner join job j on j.packageinstance_id = pi.id
      where p.name = ${sub.name}
        and pi.suite_id = (select id from suite where name = ${sub.suite})
        and pi.dist_id = (select id from distribution where name = ${sub.dist})
        and j.status in (${unfinished})`.execute(tx);
  const out: SubmissionLookups = {
    blacklist: [],
    suite: undefined,
    dist: undefined,
    format: undefined,
    arches: new Map(),
    suiteArches: [],
    packageId: undefined,
    instances: [],
    unfinished: [],
  };
  for (const r of rows) {
    const id = Number(r.id);
    switch (r.k) {
      case 'b':
        out.blacklist.push({ id, field: r.s1 ?? '', regex: r.s2 ?? '' });
        break;
      case 's':
        out.suite = { id, name: r.s1 ?? '' };
        break;
      case 'd':
        out.dist = { id, name: r.s1 ?? '' };
        break;
      case 'f':
        out.format = { id, name: r.s1 ?? '' };
        break;
      case 'a':
        out.arches.set(id, r.s1 ?? '');
        break;
      case 'x':
        out.suiteArches.push({ sa_id: id, arch: r.s1 ?? '', env: r.s2, arch_id: num(r.n1)!, weight: num(r.n2)!, env_id: num(r.n3) });
        break;
      case 'p':
        out.packageId = id;
        break;
      case 'i':
        out.instances.push({ id, arch_id: num(r.n1)!, master: num(r.n2)!, env_id: num(r.n3) });
        break;
      case 'o':
        out.unfinished.push({ id, version: r.s1 ?? '', arch_id: num(r.n1)!, env_id: num(r.n3) });
        break;
    }
  }
  const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
  out.blacklist.sort(byId);
  out.instances.sort(byId);
  out.unfinished.sort(byId);
  return out;
}
