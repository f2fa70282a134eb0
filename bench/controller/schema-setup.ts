// Schema-level setup shared by the controller runs and their floors: the lookup rows a
// submission needs, a bulk seed of finished jobs, and ANALYZE — PostgreSQL plans made on empty
// tables turn every insert's foreign-key check and lookup into a scan.
//
// Everything here goes through a minimal `exec` so it runs on both better-sqlite3 and pg.

export interface SqlExec {
  dialect: 'sqlite' | 'postgres';
  /** Runs one statement, returning its rows. Only integers and fixed identifiers are inlined. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
}

export const BENCH_ARCHES = [
  { name: 'i386', weight: 1 },
  { name: 'armel', weight: 0 },
] as const;

export interface Lookups {
  distId: number;
  formatId: number;
  waitingId: number;
  doneId: number;
  arches: Array<{ id: number; name: string; weight: number }>;
}

async function idOf(x: SqlExec, table: string, name: string): Promise<number> {
  const r = await x.query<{ id: number }>(`SELECT id FROM ${table} WHERE name = '${name}'`);
  if (!r[0]) throw new Error(`no ${table} '${name}' (was the database seeded?)`);
  return Number(r[0].id);
}

/** Ensures the bench arches exist; reads the ids of Debian, deb and the statuses. */
export async function lookups(x: SqlExec): Promise<Lookups> {
  const arches = [];
  for (const a of BENCH_ARCHES) {
    const have = await x.query<{ id: number }>(`SELECT id FROM arch WHERE name = '${a.name}'`);
    if (!have[0]) await x.query(`INSERT INTO arch (name) VALUES ('${a.name}')`);
    arches.push({ id: await idOf(x, 'arch', a.name), name: a.name, weight: a.weight });
  }
  return {
    distId: await idOf(x, 'distribution', 'Debian'),
    formatId: await idOf(x, 'format', 'deb'),
    waitingId: await idOf(x, 'status', 'Waiting'),
    doneId: await idOf(x, 'status', 'Done'),
    arches,
  };
}

/** A suite building every bench arch (so `any` → one job per arch). Returns its id. */
export async function createSuite(x: SqlExec, l: Lookups, suite: string): Promise<number> {
  await x.query(`INSERT INTO suite (name) VALUES ('${suite}')`);
  const suiteId = await idOf(x, 'suite', suite);
  for (const a of l.arches) {
    await x.query(`INSERT INTO suitearches (suite_id, arch_id, master_weight) VALUES (${suiteId}, ${a.id}, ${a.weight})`);
  }
  return suiteId;
}

/** Fills the job tables with `packages` finished submissions (one job per arch each), then ANALYZE. */
export async function seedAndAnalyze(x: SqlExec, l: Lookups, packages: number): Promise<void> {
  const suite = 'benchseed';
  const suiteId = await createSuite(x, l, suite);
  const ts = "'2024-01-01 00:00:00.000000'";
  const body = `'${'x'.repeat(700)}'`;
  const jobsOfSuite = `SELECT j.id FROM job j JOIN packageinstance pi ON pi.id = j.packageinstance_id WHERE pi.suite_id = ${suiteId}`;
  await x.query(
    `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${packages}) ` +
      `INSERT INTO package (name, version) SELECT 'seed-' || n, '1.0-1' FROM s`,
  );
  await x.query(
    `INSERT INTO packageinstance (package_id, buildenv_id, arch_id, suite_id, dist_id, format_id, master) ` +
      `SELECT p.id, NULL, sa.arch_id, ${suiteId}, ${l.distId}, ${l.formatId}, CASE WHEN sa.master_weight > 0 THEN 1 ELSE 0 END ` +
      `FROM package p CROSS JOIN suitearches sa WHERE p.name LIKE 'seed-%' AND sa.suite_id = ${suiteId}`,
  );
  await x.query(
    `INSERT INTO job (packageinstance_id, status, created_at, updated_at, result) ` +
      `SELECT id, 'Done', ${ts}, ${ts}, 'OK' FROM packageinstance WHERE suite_id = ${suiteId}`,
  );
  for (const st of [l.waitingId, l.doneId]) {
    await x.query(`INSERT INTO jobstatus (job_id, status_id, time) SELECT id, ${st}, ${ts} FROM (${jobsOfSuite}) js`);
  }
  await x.query(`INSERT INTO buildrequest (job, method, uri, vcs_id, buildenv_name) SELECT id, 'git', 'http://git.invalid/seed.git', 'abc', NULL FROM (${jobsOfSuite}) js`);
  await x.query(
    `INSERT INTO outbox (exchange, routing_key, queue, body, persistent, job_id, created_at, sent_at) ` +
      `SELECT 'pybit', 'Debian.i386.${suite}.deb', 'Debian_i386_${suite}_deb', ${body}, 1, id, ${ts}, ${ts} FROM (${jobsOfSuite}) js`,
  );
  await x.query('ANALYZE');
}
