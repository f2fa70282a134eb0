// Helpers for the UI tests: a real controller process (`buildbox box` or `serve` from
// dist/cli.js) on port 0 with its own data directory and admin password, REST calls to seed
// state, and a logged-in page.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli.js');
export const PG_BASE_URL = process.env.BUILDBOX_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function unique(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export interface Server {
  url: string;
  password: string;
  dataDir: string;
  /** Everything the process printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `buildbox <command> --port 0 --data-dir <tmp> …` and waits for the URL it prints.
 * The process is ended by its own pid on stop().
 */
export async function startServer(command: 'box' | 'serve', args: string[] = [], env: Record<string, string> = {}): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'buildbox-e2e-'));
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const child: ChildProcess = spawn(process.execPath, [CLI, command, '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...args], {
    cwd: ROOT,
    env: { ...process.env, BUILDBOX_ADMIN_PASSWORD: password, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`buildbox ${command} did not print its URL within 30 s:\n${out}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/[^\s/]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`buildbox ${command} exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    password,
    dataDir,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Res {
  status: number;
  text: string;
  json<T = any>(): T;
}

export async function rest(
  s: { url: string; password: string },
  method: string,
  path: string,
  opts: { form?: Record<string, string | number>; json?: unknown; auth?: boolean } = {},
): Promise<Res> {
  const headers: Record<string, string> = {};
  if (opts.auth !== false) headers.authorization = `Basic ${Buffer.from(`admin:${s.password}`).toString('base64')}`;
  let body: string | undefined;
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(Object.entries(opts.form).map(([k, v]): [string, string] => [k, String(v)])).toString();
  } else if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const r = await fetch(`${s.url}${path}`, { method, headers, body });
  const text = await r.text();
  return {
    status: r.status,
    text,
    json: () => {
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`${method} ${path}: not JSON (HTTP ${r.status}): ${text.slice(0, 300)}`);
      }
    },
  };
}

export async function ok(p: Promise<Res>, what: string): Promise<Res> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  return r;
}

/** A suite with arches mapped to it (through pyBit's routes, as an admin script would). */
export async function seedTargets(s: Server, suite: string, arches: string[]): Promise<void> {
  const lookups = await ok(rest(s, 'GET', '/api/v1/lookups', { auth: false }), 'lookups');
  const have = lookups.json<{ arches: Array<{ name: string }>; suites: Array<{ name: string }> }>();
  for (const a of arches) if (!have.arches.some((x) => x.name === a)) await ok(rest(s, 'POST', '/arch', { form: { name: a } }), `add arch ${a}`);
  if (!have.suites.some((x) => x.name === suite)) await ok(rest(s, 'POST', '/suite', { form: { name: suite } }), `add suite ${suite}`);
  const l = (await ok(rest(s, 'GET', '/api/v1/lookups', { auth: false }), 'lookups')).json<{
    arches: Array<{ id: number; name: string }>;
    suites: Array<{ id: number; name: string }>;
  }>();
  const suiteId = l.suites.find((x) => x.name === suite)!.id;
  for (const [i, a] of arches.entries()) {
    const archId = l.arches.find((x) => x.name === a)!.id;
    await ok(rest(s, 'POST', '/suitearch', { form: { suite_id: suiteId, arch_id: archId, master_weight: i === 0 ? 10 : 0 } }), `map ${suite}/${a}`);
  }
}

export interface SubmitSpec {
  package: string;
  version?: string;
  suite: string;
  arch_list?: string;
  method_type?: string;
  uri?: string;
  vcs_id?: string;
}

export async function submit(s: Server, spec: SubmitSpec): Promise<number[]> {
  const r = await ok(
    rest(s, 'POST', '/api/v1/jobs', {
      json: {
        package: spec.package,
        version: spec.version ?? '1.0-1',
        arch_list: spec.arch_list ?? 'any',
        dist: 'Debian',
        suite: spec.suite,
        format: 'deb',
        method_type: spec.method_type ?? 'git',
        uri: spec.uri ?? 'https://git.invalid/x.git',
        vcs_id: spec.vcs_id ?? 'main',
      },
    }),
    `submit ${spec.package}`,
  );
  return r.json<{ jobIds: number[] }>().jobIds;
}

/** Runs `fn` over `items` with at most `n` in flight. */
export async function parallel<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

/** Opens the UI already logged in (the credential the Settings screen would store). */
export async function openLoggedIn(page: Page, s: Server, path = '/'): Promise<void> {
  await page.addInitScript(`window.localStorage.setItem('buildbox.credential', ${JSON.stringify(`admin:${s.password}`)});`);
  await page.goto(`${s.url}${path}`);
}

export function shot(name: string): { path: string; fullPage: boolean } {
  return { path: join(ROOT, 'test-results', 'screens', `${name}.png`), fullPage: false };
}
