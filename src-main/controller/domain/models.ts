// Loads pyBit model objects (Job, PackageInstance, ...) from the database with one joined query each.
import type { Kysely, SelectQueryBuilder, Transaction } from 'kysely';
import type { Database } from '../db/schema';
import { tag } from '@shared/jsonpickle';
import type * as M from '@shared/pybit-models';
import { buildRequest, transport } from '@shared/pybit-models';

type Tx = Kysely<Database> | Transaction<Database>;

export interface InstanceRow {
  pi_id: number;
  pi_master: number;
  p_id: number;
  p_name: string;
  p_version: string;
  a_id: number;
  a_name: string;
  be_id: number | null;
  be_name: string | null;
  s_id: number;
  s_name: string;
  d_id: number;
  d_name: string;
  f_id: number;
  f_name: string;
}

export function instanceQuery(tx: Tx) {
  return tx
    .selectFrom('packageinstance as pi')
    .innerJoin('package as p', 'p.id', 'pi.package_id')
    .innerJoin('arch as a', 'a.id', 'pi.arch_id')
    .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
    .innerJoin('suite as s', 's.id', 'pi.suite_id')
    .innerJoin('distribution as d', 'd.id', 'pi.dist_id')
    .innerJoin('format as f', 'f.id', 'pi.format_id')
    .select([
      'pi.id as pi_id',
      'pi.master as pi_master',
      'p.id as p_id',
      'p.name as p_name',
      'p.version as p_version',
      'a.id as a_id',
      'a.name as a_name',
      'be.id as be_id',
      'be.name as be_name',
      's.id as s_id',
      's.name as s_name',
      'd.id as d_id',
      'd.name as d_name',
      'f.id as f_id',
      'f.name as f_name',
    ]);
}

export function instanceModel(r: InstanceRow): M.PackageInstance {
  return tag('PackageInstance', {
    id: r.pi_id,
    package: tag('Package', { id: r.p_id, version: r.p_version, name: r.p_name }),
    arch: tag('Arch', { id: r.a_id, name: r.a_name }),
    build_env: r.be_id == null ? null : tag('BuildEnv', { id: r.be_id, name: r.be_name ?? '' }),
    suite: tag('Suite', { id: r.s_id, name: r.s_name }),
    distribution: tag('Dist', { id: r.d_id, name: r.d_name }),
    format: tag('Format', { id: r.f_id, name: r.f_name }),
    master: Boolean(r.pi_master),
  });
}

export interface JobRowFull extends InstanceRow {
  j_id: number;
  j_status: string;
  bc_id: number | null;
  bc_name: string | null;
}

export function jobQuery(tx: Tx) {
  return tx
    .selectFrom('job as j')
    .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
    .innerJoin('package as p', 'p.id', 'pi.package_id')
    .innerJoin('arch as a', 'a.id', 'pi.arch_id')
    .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
    .innerJoin('suite as s', 's.id', 'pi.suite_id')
    .innerJoin('distribution as d', 'd.id', 'pi.dist_id')
    .innerJoin('format as f', 'f.id', 'pi.format_id')
    .leftJoin('buildclients as bc', 'bc.id', 'j.buildclient_id')
    .select([
      'j.id as j_id',
      'j.status as j_status',
      'bc.id as bc_id',
      'bc.name as bc_name',
      'pi.id as pi_id',
      'pi.master as pi_master',
      'p.id as p_id',
      'p.name as p_name',
      'p.version as p_version',
      'a.id as a_id',
      'a.name as a_name',
      'be.id as be_id',
      'be.name as be_name',
      's.id as s_id',
      's.name as s_name',
      'd.id as d_id',
      'd.name as d_name',
      'f.id as f_id',
      'f.name as f_name',
    ]);
}
export type JobQuery = ReturnType<typeof jobQuery>;
export type AnyJobQuery = SelectQueryBuilder<any, any, JobRowFull>;

export function jobModel(r: JobRowFull, clientAsId = false): M.Job {
  return tag('Job', {
    id: r.j_id,
    packageinstance: instanceModel(r),
    buildclient: r.bc_id == null ? null : clientAsId ? r.bc_id : tag('BuildD', { id: r.bc_id, name: r.bc_name ?? '' }),
  });
}

export async function loadJob(tx: Tx, jobId: number): Promise<JobRowFull | undefined> {
  return (await jobQuery(tx).where('j.id', '=', jobId).executeTakeFirst()) as JobRowFull | undefined;
}

/** The BuildRequest for a job, rebuilt from its first logged transport (as pyBit's retry reads it). */
export async function buildRequestForJob(tx: Tx, jobId: number, webHost: string): Promise<M.BuildRequest | undefined> {
  const row = await loadJob(tx, jobId);
  if (!row) return undefined;
  const br = await tx
    .selectFrom('buildrequest')
    .select(['method', 'uri', 'vcs_id'])
    .where('job', '=', jobId)
    .orderBy('id')
    .executeTakeFirst();
  const t = transport(br?.method ?? '', br?.uri ?? null, br?.vcs_id ?? null);
  return buildRequest(jobModel(row), t, webHost, null);
}
