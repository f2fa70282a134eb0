// The rows a submission writes, in as few statements as the dialect allows: one multi-row
// INSERT per table, and on PostgreSQL data-modifying CTEs that put the instances and jobs in one
// statement and the history, build requests and messages in another. Every statement costs a
// round trip there (DESIGN.md, "Known pitfalls"); on SQLite statements are cheap but each still
// costs a query build, so the table-per-statement form is kept.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema';
import type { Dialect } from '../db/migrations';
import type { BuildRequest } from '@shared/pybit-models';
import { buildRequestRows, type PendingOutboxRow } from './outbox';
import { insertRows } from '../db/insert-rows';

type Tx = Transaction<Database>;

const PI_COLUMNS = ['package_id', 'buildenv_id', 'arch_id', 'suite_id', 'dist_id', 'format_id', 'master'] as const;
const JOB_COLUMNS = ['packageinstance_id', 'buildclient_id', 'status', 'created_at', 'updated_at'] as const;

export interface NewInstance {
  arch_id: number;
  env_id: number | null;
  master: number;
}

export interface InstanceScope {
  packageId: number;
  suiteId: number;
  distId: number;
  formatId: number;
}

/**
 * Inserts the new package instances (in order) and one Waiting job per entry of `jobInstances`
 * (an existing instance id, or `{ create: i }` for `create[i]`). Returns the new instance ids in
 * the order of `create` and the job ids in the order of `jobInstances`.
 */
export async function insertInstancesAndJobs(
  tx: Tx,
  dialect: Dialect,
  scope: InstanceScope,
  create: readonly NewInstance[],
  jobInstances: ReadonlyArray<number | { create: number }>,
  now: string,
): Promise<{ instanceIds: number[]; jobIds: number[] }> {
  const piValues = create.map((c) => ({
    package_id: scope.packageId,
    buildenv_id: c.env_id,
    arch_id: c.arch_id,
    suite_id: scope.suiteId,
    dist_id: scope.distId,
    format_id: scope.formatId,
    master: c.master,
  }));
  const jobValues = (piIds: readonly number[]) =>
    jobInstances.map((j) => ({
      packageinstance_id: typeof j === 'number' ? j : piIds[j.create]!,
      buildclient_id: null,
      status: 'Waiting',
      created_at: now,
      updated_at: now,
      result: null,
      result_details: null,
      lease_owner: null,
      lease_expires_at: null,
      retry_at: null,
    }));
  // A multi-row INSERT assigns ids in the order of its rows; RETURNING need not list them in
  // that order, so the ids are sorted.
  const ascending = (rows: Array<{ id: number }>) => rows.map((r) => r.id).sort((a, b) => a - b);

  // The common case on PostgreSQL: every job gets a new instance of its own, in order.
  const oneEach = create.length > 0 && jobInstances.length === create.length && jobInstances.every((j, i) => typeof j !== 'number' && j.create === i);
  if (dialect === 'postgres' && oneEach) {
    const rows = await tx
      .with('pi', (db) => db.insertInto('packageinstance').values(piValues).returning('id'))
      .insertInto('job')
      .columns(['packageinstance_id', 'buildclient_id', 'status', 'created_at', 'updated_at'])
      .expression((eb) =>
        eb
          .selectFrom('pi')
          .select((s) => ['pi.id', sql<null>`null::integer`.as('buildclient_id'), sql<string>`'Waiting'`.as('status'), s.val(now).as('created_at'), s.val(now).as('updated_at')])
          .orderBy('pi.id'),
      )
      .returning(['id', 'packageinstance_id'])
      .execute();
    const jobIds = ascending(rows);
    const instanceIds = [...rows].sort((a, b) => a.id - b.id).map((r) => r.packageinstance_id);
    return { instanceIds, jobIds };
  }

  const instanceIds = ascending(await insertRows(tx, dialect, 'packageinstance', PI_COLUMNS, piValues, ['id']));
  const jobIds = ascending(await insertRows(tx, dialect, 'job', JOB_COLUMNS, jobValues(instanceIds), ['id']));
  return { instanceIds, jobIds };
}

export interface JobDetails {
  jobId: number;
  buildenvName: string | null;
  message: BuildRequest;
}

/**
 * Each new job's Waiting history row, its logged transport, and its outgoing BuildRequest.
 * Returns the outbox rows written (for handing to the publisher after commit).
 */
export async function insertJobDetails(
  tx: Tx,
  dialect: Dialect,
  jobs: readonly JobDetails[],
  t: { waitingId: number; now: string; method: string; uri: string; vcsId: string },
): Promise<PendingOutboxRow[]> {
  if (jobs.length === 0) return [];
  const history = jobs.map((j) => ({ job_id: j.jobId, status_id: t.waitingId, time: t.now }));
  const requests = jobs.map((j) => ({ job: j.jobId, method: t.method, uri: t.uri, vcs_id: t.vcsId, buildenv_name: j.buildenvName }));
  const messages = buildRequestRows(jobs.map((j) => ({ jobId: j.jobId, msg: j.message })), t.now);
  let ids: Array<{ id: number }>;
  if (dialect === 'postgres') {
    ids = await tx
      .with('h', (db) => db.insertInto('jobstatus').values(history))
      .with('b', (db) => db.insertInto('buildrequest').values(requests))
      .insertInto('outbox')
      .values(messages)
      .returning('id')
      .execute();
  } else {
    await insertRows(tx, dialect, 'jobstatus', ['job_id', 'status_id', 'time'], history);
    await insertRows(tx, dialect, 'buildrequest', ['job', 'method', 'uri', 'vcs_id', 'buildenv_name'], requests);
    ids = await insertRows(tx, dialect, 'outbox', ['exchange', 'routing_key', 'queue', 'body', 'persistent', 'job_id', 'created_at'], messages, ['id']);
  }
  // Ids follow the order of the rows (see insertInstancesAndJobs).
  const sorted = ids.map((r) => r.id).sort((a, b) => a - b);
  return messages.map((m, i) => ({ id: sorted[i]!, exchange: m.exchange, routing_key: m.routing_key, queue: m.queue, body: m.body, persistent: m.persistent, attempts: 0 }));
}
