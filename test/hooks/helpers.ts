// Shared by the hook tests: the shipped hook script, a controller with a suite and a user token,
// and job rows with their transport.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sqliteTestDb, tempDir, uniqueName, type TestDb } from '../helpers/db';
import { serveDirectory, type StaticServer } from '../fixtures/static-server';
import { setupSuite, startTestController, type TestController } from '../helpers/controller';
import { userToken } from '../cli/helpers';

export const HOOK = fileURLToPath(new URL('../../resources/hooks/buildbox-hook', import.meta.url));

export interface HookFarm {
  t: TestController;
  token: string;
  suite: string;
}

export async function startHookFarm(make: () => TestDb = sqliteTestDb): Promise<HookFarm> {
  const t = await startTestController(make);
  // dpkg tools refuse '_' in a changelog's distribution.
  const suite = uniqueName('hooks').replace(/_/g, '-');
  await setupSuite(t, suite, [
    { name: 'amd64', weight: 1 },
    { name: 'arm64', weight: 0 },
  ]);
  return { t, token: await userToken(t.c), suite };
}

/** A hook farm with a scratch directory whose `served/` part is served over dumb HTTP (repositories a webhook names). */
export interface ServedHookFarm extends HookFarm {
  dir: string;
  served: StaticServer;
  close(): Promise<void>;
}

export async function startServedHookFarm(prefix: string, make: () => TestDb = sqliteTestDb): Promise<ServedHookFarm> {
  const tmp = tempDir(prefix);
  mkdirSync(join(tmp.dir, 'served'));
  const served = await serveDirectory(join(tmp.dir, 'served'));
  let farm: HookFarm;
  try {
    farm = await startHookFarm(make);
  } catch (e) {
    await served.close();
    tmp.cleanup();
    throw e;
  }
  return {
    ...farm,
    dir: tmp.dir,
    served,
    close: async () => {
      await served.close();
      await farm.t.close();
      tmp.cleanup();
    },
  };
}

export async function jobsOf(t: TestController, name?: string) {
  let q = t.kysely
    .selectFrom('job as j')
    .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
    .innerJoin('package as p', 'p.id', 'pi.package_id')
    .innerJoin('arch as a', 'a.id', 'pi.arch_id')
    .innerJoin('suite as s', 's.id', 'pi.suite_id')
    .innerJoin('buildrequest as br', 'br.job', 'j.id')
    .select(['j.id', 'j.status', 'p.name', 'p.version', 'a.name as arch', 's.name as suite', 'br.method', 'br.uri', 'br.vcs_id']);
  if (name) q = q.where('p.name', '=', name);
  return q.orderBy('j.id').execute();
}

/** Puts a new top entry into a debian/changelog. */
export function bumpChangelog(path: string, version: string, distribution: string): void {
  const old = readFileSync(path, 'utf8');
  const name = old.split(' ')[0];
  writeFileSync(
    path,
    `${name} (${version}) ${distribution}; urgency=medium\n\n  * New version.\n\n -- Buildbox Tests <tests@buildbox.invalid>  Tue, 02 Jan 2024 00:00:00 +0000\n\n${old}`,
  );
}

export const gitEnv = {
  GIT_AUTHOR_NAME: 'Buildbox Tests',
  GIT_AUTHOR_EMAIL: 'tests@buildbox.invalid',
  GIT_COMMITTER_NAME: 'Buildbox Tests',
  GIT_COMMITTER_EMAIL: 'tests@buildbox.invalid',
};

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command without blocking the event loop: the hooks it triggers call the controller,
 * which runs in this very process.
 */
export function spawnAsync(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; cleanEnv?: boolean } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.cleanEnv ? opts.env : { ...process.env, ...gitEnv, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    // A command that exits without reading its input must not fail the test with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a command that must succeed; returns its stdout. */
export async function run(cmd: string, args: string[], cwd?: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await spawnAsync(cmd, args, { cwd, env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
