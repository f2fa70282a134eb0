// One set of migrations for SQLite and PostgreSQL. Only the id column type differs,
// so every table is written once with the schema builder. Times are stored as UTC text
// ('YYYY-MM-DD HH:MM:SS.ffffff'), which sorts correctly and reads the same on both.
import { Kysely, Migrator, sql, type Migration, type MigrationProvider, type CreateTableBuilder } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

function withId<T extends string>(t: CreateTableBuilder<T, never>, dialect: Dialect): CreateTableBuilder<T, 'id'> {
  return dialect === 'postgres'
    ? t.addColumn('id', 'serial', (c) => c.primaryKey())
    : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_pybit_schema': {
      async up(db: Kysely<any>) {
        for (const name of ['arch', 'buildclients', 'distribution', 'format', 'status', 'suite']) {
          let t = withId(db.schema.createTable(name), dialect).addColumn('name', 'text', (c) => c.notNull().unique());
          if (name === 'buildclients') t = t.addColumn('last_seen', 'text');
          await t.execute();
        }
        // pyBit allows duplicate build environment names.
        await withId(db.schema.createTable('buildenv'), dialect).addColumn('name', 'text', (c) => c.notNull()).execute();
        await withId(db.schema.createTable('package'), dialect)
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('version', 'text', (c) => c.notNull())
          .addUniqueConstraint('package_name_version', ['name', 'version'])
          .execute();
        await withId(db.schema.createTable('packageinstance'), dialect)
          .addColumn('package_id', 'integer', (c) => c.notNull().references('package.id'))
          .addColumn('buildenv_id', 'integer', (c) => c.references('buildenv.id'))
          .addColumn('arch_id', 'integer', (c) => c.notNull().references('arch.id'))
          .addColumn('suite_id', 'integer', (c) => c.notNull().references('suite.id'))
          .addColumn('dist_id', 'integer', (c) => c.notNull().references('distribution.id'))
          .addColumn('format_id', 'integer', (c) => c.notNull().references('format.id'))
          .addColumn('master', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.createIndex('packageinstance_lookup').on('packageinstance').columns(['package_id', 'arch_id', 'suite_id']).execute();
        await withId(db.schema.createTable('job'), dialect)
          .addColumn('packageinstance_id', 'integer', (c) => c.notNull().references('packageinstance.id'))
          .addColumn('buildclient_id', 'integer', (c) => c.references('buildclients.id'))
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('result', 'text')
          .addColumn('result_details', 'text')
          .addColumn('lease_owner', 'text')
          .addColumn('lease_expires_at', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('retry_at', 'text')
          .execute();
        await db.schema.createIndex('job_status').on('job').columns(['status', 'id']).execute();
        await db.schema.createIndex('job_instance').on('job').column('packageinstance_id').execute();
        await db.schema.createIndex('job_client').on('job').column('buildclient_id').execute();
        await withId(db.schema.createTable('jobstatus'), dialect)
          .addColumn('job_id', 'integer', (c) => c.notNull().references('job.id'))
          .addColumn('status_id', 'integer', (c) => c.notNull().references('status.id'))
          .addColumn('time', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('jobstatus_job').on('jobstatus').columns(['job_id', 'id']).execute();
        await withId(db.schema.createTable('suitearches'), dialect)
          .addColumn('suite_id', 'integer', (c) => c.notNull().references('suite.id'))
          .addColumn('arch_id', 'integer', (c) => c.notNull().references('arch.id'))
          .addColumn('master_weight', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await withId(db.schema.createTable('buildenvsuitearch'), dialect)
          .addColumn('buildenv_id', 'integer', (c) => c.notNull().references('buildenv.id'))
          .addColumn('suitearch_id', 'integer', (c) => c.notNull().references('suitearches.id'))
          .execute();
        await withId(db.schema.createTable('blacklist'), dialect)
          .addColumn('field', 'text', (c) => c.notNull())
          .addColumn('regex', 'text', (c) => c.notNull())
          .execute();
        await withId(db.schema.createTable('buildrequest'), dialect)
          .addColumn('job', 'integer', (c) => c.notNull().references('job.id'))
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('uri', 'text', (c) => c.notNull())
          .addColumn('vcs_id', 'text', (c) => c.notNull())
          .addColumn('buildenv_name', 'text')
          .execute();
        await db.schema.createIndex('buildrequest_job').on('buildrequest').column('job').execute();
      },
    },
    '0002_buildbox_core': {
      async up(db: Kysely<any>) {
        await withId(db.schema.createTable('users'), dialect)
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await withId(db.schema.createTable('tokens'), dialect)
          .addColumn('user_id', 'integer', (c) => c.references('users.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .execute();
        await withId(db.schema.createTable('outbox'), dialect)
          .addColumn('exchange', 'text', (c) => c.notNull())
          .addColumn('routing_key', 'text', (c) => c.notNull())
          .addColumn('queue', 'text')
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('persistent', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('job_id', 'integer')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('sent_at', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'text')
          .addColumn('dead_at', 'text')
          .execute();
        await db.schema
          .createIndex('outbox_pending')
          .on('outbox')
          .column('id')
          .where(sql.ref('sent_at'), 'is', null)
          .execute();
        await db.schema
          .createTable('meta')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0003_workers_files': {
      async up(db: Kysely<any>) {
        // Buildbox workers as they introduce themselves (POST /api/v1/workers/hello).
        await withId(db.schema.createTable('workers'), dialect)
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('arch', 'text', (c) => c.notNull())
          .addColumn('dist', 'text')
          .addColumn('format', 'text')
          .addColumn('suites', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('backend', 'text')
          .addColumn('slots', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('state', 'text', (c) => c.notNull().defaultTo('idle'))
          .addColumn('current_jobs', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('version', 'text')
          .addColumn('principal', 'text')
          .addColumn('first_seen', 'text', (c) => c.notNull())
          .addColumn('last_seen', 'text', (c) => c.notNull())
          .execute();
        // The librarian's index; the bytes live under <dataDir>/files/<sha1[0:2]>/<sha1>.
        await db.schema
          .createTable('files')
          .addColumn('sha1', 'text', (c) => c.primaryKey())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        // No foreign key to job: deleting a job must not be blocked by its artifacts.
        await withId(db.schema.createTable('artifacts'), dialect)
          .addColumn('job_id', 'integer', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('sha1', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('artifacts_job_name', ['job_id', 'name'])
          .execute();
        // Set when a cancel was requested for a leased Building job: heartbeats then answer stop.
        await db.schema.alterTable('job').addColumn('cancel_requested_at', 'text').execute();
        await db.schema.createIndex('job_lease').on('job').columns(['status', 'lease_expires_at']).execute();
        await db.schema.createIndex('job_retry').on('job').columns(['status', 'retry_at']).execute();
      },
    },
    '0006_builders': {
      async up(db: Kysely<any>) {
        // launchpad-buildd-style builders the controller drives over XML-RPC (the buildd-manager).
        await withId(db.schema.createTable('builders'), dialect)
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('arch', 'text', (c) => c.notNull())
          .addColumn('virtualised', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('manual', 'integer', (c) => c.notNull().defaultTo(0))
          // Launchpad's builderok: a disabled builder is never contacted.
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('failure_notes', 'text')
          .addColumn('failure_count', 'integer', (c) => c.notNull().defaultTo(0))
          // CLEAN, DIRTY or CLEANING; a new builder is cleaned before its first job.
          .addColumn('clean_status', 'text', (c) => c.notNull().defaultTo('DIRTY'))
          .addColumn('last_status', 'text')
          .addColumn('version', 'text')
          .addColumn('last_seen', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        // Launchpad's BuildQueue side of a job: which builder runs it under which cookie, its log
        // tail, and the job's own failure count (kept across resets, for judge_failure).
        await db.schema
          .createTable('builder_jobs')
          .addColumn('job_id', 'integer', (c) => c.primaryKey())
          .addColumn('builder_id', 'integer')
          .addColumn('cookie', 'text')
          .addColumn('failure_count', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('logtail', 'text')
          .addColumn('dispatched_at', 'text')
          .addColumn('abort_sent_at', 'text')
          .execute();
        await db.schema.createIndex('builder_jobs_builder').on('builder_jobs').column('builder_id').execute();
        // Chroot tarballs in the librarian per (suite, arch, build environment; '' = any).
        await withId(db.schema.createTable('chroots'), dialect)
          .addColumn('suite_id', 'integer', (c) => c.notNull().references('suite.id'))
          .addColumn('arch_id', 'integer', (c) => c.notNull().references('arch.id'))
          .addColumn('environment', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('sha1', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('chroots_target', ['suite_id', 'arch_id', 'environment'])
          .execute();
        // The files of an uploaded source package (the .dsc included), keyed by the .dsc's SHA-1:
        // what a dispatch puts on a builder with ensurepresent.
        await db.schema
          .createTable('source_files')
          .addColumn('dsc_sha1', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('sha1', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('source_files_pk', ['dsc_sha1', 'name'])
          .execute();
      },
    },
    '0004_api_indexes': {
      async up(db: Kysely<any>) {
        // The oldest Waiting job (/api/v1/stats, /metrics) without scanning every Waiting row.
        await db.schema.createIndex('job_status_updated').on('job').columns(['status', 'updated_at']).execute();
      },
    },
    '0007_repositories': {
      async up(db: Kysely<any>) {
        // Git repositories whose pushes queue builds through the GitHub/GitLab webhooks; the
        // secret is kept as given because GitHub's HMAC needs it, not a hash of it.
        await withId(db.schema.createTable('repositories'), dialect)
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('clone_url', 'text', (c) => c.notNull())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('suite', 'text')
          .addColumn('dist', 'text')
          .addColumn('format', 'text')
          .addColumn('branch', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_delivery_at', 'text')
          .execute();
        // Delivery ids already acted on, so that a replayed delivery queues nothing again.
        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('delivery_id', 'text', (c) => c.notNull())
          .addColumn('repository_id', 'integer', (c) => c.notNull())
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('job_ids', 'text', (c) => c.notNull().defaultTo(''))
          .addPrimaryKeyConstraint('webhook_deliveries_pk', ['provider', 'delivery_id'])
          .execute();
        await db.schema.createIndex('webhook_deliveries_repo').on('webhook_deliveries').column('repository_id').execute();
      },
    },
    '0008_jobstatus_time': {
      async up(db: Kysely<any>) {
        // /api/v1/stats/activity reads the status history of a time window only.
        await db.schema.createIndex('jobstatus_time').on('jobstatus').columns(['time']).execute();
      },
    },
    '0009_auth_epoch': {
      async up(db: Kysely<any>) {
        // A counter bumped by triggers in the same transaction as any change to users or tokens,
        // whoever makes it (the API, the CLI, another controller, an administrator in psql).
        // Controllers cache credential checks; they compare this before trusting the cache, so a
        // revocation made by another process counts at once. PostgreSQL also notifies
        // 'buildbox_auth' with the schema name, so that listening controllers need not compare.
        await db.schema
          .createTable('auth_epoch')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('epoch', 'integer', (c) => c.notNull())
          .execute();
        await db.insertInto('auth_epoch').values({ id: 1, epoch: 0 }).execute();
        if (dialect === 'postgres') {
          // The table's own schema, not the caller's search_path: a session without the
          // schema on its path (psql, a maintenance script) must still bump the right counter.
          await sql`CREATE FUNCTION buildbox_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE %I.auth_epoch SET epoch = epoch + 1 WHERE id = 1', TG_TABLE_SCHEMA);
  PERFORM pg_notify('buildbox_auth', TG_TABLE_SCHEMA);
  RETURN NULL;
END
$$`.execute(db);
          // A new user counts too: a login tried before the account existed was cached as refused.
          await sql`CREATE TRIGGER users_auth_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
            FOR EACH STATEMENT EXECUTE PROCEDURE buildbox_auth_changed()`.execute(db);
          // New tokens do not: nobody can have tried an unguessable secret before it existed.
          await sql`CREATE TRIGGER tokens_auth_epoch AFTER UPDATE OR DELETE OR TRUNCATE ON tokens
            FOR EACH STATEMENT EXECUTE PROCEDURE buildbox_auth_changed()`.execute(db);
        } else {
          for (const [table, event] of [['users', 'INSERT'], ['users', 'UPDATE'], ['users', 'DELETE'], ['tokens', 'UPDATE'], ['tokens', 'DELETE']] as const) {
            await sql
              .raw(`CREATE TRIGGER ${table}_${event.toLowerCase()}_auth_epoch AFTER ${event} ON ${table} BEGIN UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1; END`)
              .execute(db);
          }
        }
      },
    },
  };
}

class InlineProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations() {
    return migrations(this.dialect);
  }
}

export async function migrate(db: Kysely<any>, dialect: Dialect, schema?: string): Promise<void> {
  // Kysely looks for its lock table in every schema unless told which one: with several
  // schemas on one server (tests, benchmarks) another schema's table would be taken for ours.
  const migrator = new Migrator({ db, provider: new InlineProvider(dialect), ...(schema ? { migrationTableSchema: schema } : {}) });
  let { error, results } = await migrator.migrateToLatest();
  // Before it migrates, Kysely introspects the tables of every schema on the server; a schema
  // or table dropped meanwhile by another user of the server (parallel tests, benchmarks) fails
  // that catalog query. Nothing has run yet at that point, so trying again is safe.
  for (let attempt = 1; error && isCatalogRace(error) && !results?.some((r) => r.status !== 'NotExecuted') && attempt <= 10; attempt++) {
    await new Promise((r) => setTimeout(r, 20 * attempt));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error).message ?? error)}`);
  }
}

/**
 * PostgreSQL errors of a catalog query whose objects another session dropped meanwhile: schema
 * or relation does not exist (3F000, 42P01), and a column that does not exist (42703), which
 * Kysely's introspection gets from pg_get_serial_sequence() when another schema's
 * kysely_migration table is dropped under it (seen with parallel tests dropping their schemas).
 */
export function isCatalogRace(e: unknown): boolean {
  const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
  return code === '3F000' || code === '42P01' || code === '42703';
}
