// Runs the external tools of publishing (reprepro, debsign) and logs each as `RUN: …`, so that an
// operator can replay by hand exactly what the controller did.
import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  run(cmd: string, args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string }): Promise<CommandResult>;
}

export function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function formatCommandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(quoteArg).join(' ');
}

export function commandRunner(log: (line: string) => void): CommandRunner {
  return {
    run(cmd, args, opts = {}) {
      log(`RUN: ${formatCommandLine(cmd, args)}`);
      return new Promise((resolve) => {
        execFile(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 127) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === 127 ? err.message : '') });
        });
      });
    },
  };
}

/** Throws with the tool's own words when it failed. */
export async function runChecked(runner: CommandRunner, cmd: string, args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string }): Promise<CommandResult> {
  const r = await runner.run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} exited with ${r.code}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return r;
}
