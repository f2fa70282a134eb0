// Shared by the CLI and hook tests: a user API token on a test controller, and running
// `node dist/cli.js …` to completion with its output and exit code.
import { spawn } from 'node:child_process';
import { hashToken, newToken } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import type { Controller } from '../../src-main/controller/controller';
import { CLI, assertCliBuilt } from '../worker-e2e/harness';

/** A new API token of the admin user (or of no user with `kind: 'worker'`). */
export async function userToken(c: Controller, kind: 'user' | 'worker' = 'user'): Promise<string> {
  const k = c.ctx.db.kysely;
  const admin = await k.selectFrom('users').select('id').where('name', '=', 'admin').executeTakeFirstOrThrow();
  const token = newToken();
  await k
    .insertInto('tokens')
    .values({ user_id: kind === 'user' ? admin.id : null, name: `test ${kind}`, kind, token_hash: hashToken(token), created_at: nowText(), revoked_at: null })
    .execute();
  return token;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI to its end (killed after `timeoutMs`). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  assertCliBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}
