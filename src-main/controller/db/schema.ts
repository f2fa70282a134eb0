// The database schema as Kysely sees it. pyBit's tables keep their names and columns
// (spec/pybit.md §2.1) so that its data model maps one to one; Buildbox's own tables follow.
import type { Generated, Insertable, Selectable } from 'kysely';

interface Named { id: Generated<number>; name: string }

export interface PackageTable { id: Generated<number>; name: string; version: string }
export interface PackageInstanceTable {
  id: Generated<number>;
  package_id: number;
  buildenv_id: number | null;
  arch_id: number;
  suite_id: number;
  dist_id: number;
  format_id: number;
  /** 0/1 on both dialects: stored as integer so SQLite and PostgreSQL read the same. */
  master: number;
}
export interface JobTable {
  id: Generated<number>;
  packageinstance_id: number;
  buildclient_id: number | null;
  /** Denormalised latest status name, kept in step with jobstatus in the same transaction. */
  status: string;
  created_at: string;
  updated_at: string;
  /** launchpad-buildd style result category (OK, PACKAGEFAIL, DEPFAIL, ...). */
  result: string | null;
  result_details: string | null;
  /** Lease on a claimed job; a sweeper requeues jobs whose lease ran out. */
  lease_owner: string | null;
  lease_expires_at: string | null;
  attempts: Generated<number>;
  /** DEPFAIL back-off: Blocked jobs are republished once this time has passed. */
  retry_at: string | null;
  /** A cancel was requested while a worker held the lease; its heartbeats then answer stop. */
  cancel_requested_at: Generated<string | null>;
}
export interface JobStatusTable {
  id: Generated<number>;
  job_id: number;
  status_id: number;
  time: string;
}
export interface SuiteArchTable { id: Generated<number>; suite_id: number; arch_id: number; master_weight: number }
export interface BuildEnvSuiteArchTable { id: Generated<number>; buildenv_id: number; suitearch_id: number }
export interface BlacklistTable { id: Generated<number>; field: string; regex: string }
export interface BuildRequestTable {
  id: Generated<number>;
  job: number;
  method: string;
  uri: string;
  vcs_id: string;
  buildenv_name: string | null;
}
export interface BuildClientTable extends Named { last_seen: string | null }
export interface UserTable {
  id: Generated<number>;
  name: string;
  password_hash: string;
  is_admin: number;
  created_at: string;
}
export interface TokenTable {
  id: Generated<number>;
  user_id: number | null;
  name: string;
  /** 'user' tokens act for their user; 'worker' tokens may only report builds. */
  kind: string;
  token_hash: string;
  created_at: string;
  revoked_at: string | null;
}
export interface OutboxTable {
  id: Generated<number>;
  exchange: string;
  routing_key: string;
  /** For build messages: the queue to declare and bind before publishing. */
  queue: string | null;
  body: string;
  persistent: number;
  job_id: number | null;
  created_at: string;
  sent_at: string | null;
  attempts: Generated<number>;
  next_attempt_at: string | null;
  /** Set when a message was given up on (e.g. returned unroutable too often). */
  dead_at: string | null;
}
export interface MetaTable { key: string; value: string }
export interface WorkerTable {
  id: Generated<number>;
  name: string;
  arch: string;
  dist: string | null;
  format: string | null;
  /** JSON array of suite names. */
  suites: string;
  backend: string | null;
  slots: number;
  /** What the worker last said it was doing: idle, building or stopping. */
  state: string;
  /** JSON array of the job ids the worker last said it was building. */
  current_jobs: string;
  version: string | null;
  /** The user or token name the worker authenticated as. */
  principal: string | null;
  first_seen: string;
  last_seen: string;
}
export interface FileTable {
  sha1: string;
  sha256: string;
  /** bigint: PostgreSQL returns it as a string. */
  size: number | string;
  created_at: string;
}
export interface ArtifactTable {
  id: Generated<number>;
  job_id: number;
  name: string;
  sha1: string;
  sha256: string;
  size: number | string;
  created_at: string;
}

export interface BuilderTable {
  id: Generated<number>;
  name: string;
  url: string;
  arch: string;
  virtualised: number;
  manual: number;
  enabled: number;
  failure_notes: string | null;
  failure_count: Generated<number>;
  /** CLEAN, DIRTY or CLEANING (Launchpad's BuilderCleanStatus). */
  clean_status: Generated<string>;
  last_status: string | null;
  version: string | null;
  last_seen: string | null;
  created_at: string;
  updated_at: string;
}
export interface BuilderJobTable {
  job_id: number;
  builder_id: number | null;
  cookie: string | null;
  failure_count: Generated<number>;
  logtail: string | null;
  dispatched_at: string | null;
  abort_sent_at: string | null;
}
export interface ChrootTable {
  id: Generated<number>;
  suite_id: number;
  arch_id: number;
  /** Build environment name; '' = any. */
  environment: string;
  sha1: string;
  name: string;
  size: number | string;
  created_at: string;
}
export interface SourceFileTable {
  dsc_sha1: string;
  name: string;
  sha1: string;
  sha256: string;
  size: number | string;
}
export interface RepositoryTable {
  id: Generated<number>;
  name: string;
  provider: string;
  clone_url: string;
  secret: string;
  suite: string | null;
  dist: string | null;
  format: string | null;
  branch: string | null;
  created_at: string;
  last_delivery_at: string | null;
}
/** One row (id 1): bumped by triggers on every change to users or tokens (migration 0009). */
export interface AuthEpochTable {
  id: number;
  epoch: number;
}
export interface WebhookDeliveryTable {
  provider: string;
  delivery_id: string;
  repository_id: number;
  received_at: string;
  job_ids: string;
}

export interface Database {
  arch: Named;
  buildclients: BuildClientTable;
  distribution: Named;
  format: Named;
  status: Named;
  suite: Named;
  buildenv: Named;
  package: PackageTable;
  packageinstance: PackageInstanceTable;
  job: JobTable;
  jobstatus: JobStatusTable;
  suitearches: SuiteArchTable;
  buildenvsuitearch: BuildEnvSuiteArchTable;
  blacklist: BlacklistTable;
  buildrequest: BuildRequestTable;
  users: UserTable;
  tokens: TokenTable;
  outbox: OutboxTable;
  meta: MetaTable;
  workers: WorkerTable;
  files: FileTable;
  artifacts: ArtifactTable;
  builders: BuilderTable;
  builder_jobs: BuilderJobTable;
  chroots: ChrootTable;
  source_files: SourceFileTable;
  repositories: RepositoryTable;
  webhook_deliveries: WebhookDeliveryTable;
  auth_epoch: AuthEpochTable;
}

export type LookupTable = 'arch' | 'buildclients' | 'distribution' | 'format' | 'status' | 'suite' | 'buildenv';
export type JobRow = Selectable<JobTable>;
export type NewOutbox = Insertable<OutboxTable>;
