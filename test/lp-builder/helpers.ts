// Test harness for the launchpad-buildd face: a real server on port 0 with its own temp dir,
// cache and FIFO, driven through Python's xmlrpc.client (test/lp-builder/rpc_driver.py) exactly
// as Launchpad's buildd-manager and tests drive launchpad-buildd.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLpBuilder, type LpBuilderServer, type LpBuilderServerOptions } from '../../src-worker/lp-builder/server';

const DRIVER = fileURLToPath(new URL('./rpc_driver.py', import.meta.url));

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type CallResult = { ok: Json } | { fault: { code: number; string: string } } | { error: string; kind: string };

export interface PyCall {
  url: string;
  method: string;
  args?: Json[];
  /** Repeat until the struct result contains these items. */
  until?: Record<string, Json>;
  allow_none?: boolean;
}

/** Runs calls through Python's xmlrpc.client, in order, in one Python process. */
export function pyCalls(calls: PyCall[]): Promise<CallResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [DRIVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`rpc_driver.py exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out) as CallResult[]);
      } catch (e) {
        reject(new Error(`bad driver output ${out}: ${(e as Error).message}`));
      }
    });
    child.stdin.end(JSON.stringify(calls));
  });
}

export class PyFault extends Error {
  constructor(
    readonly code: number,
    readonly faultString: string,
  ) {
    super(`Fault ${code}: ${faultString}`);
  }
}

/** The value of a call, or throws PyFault / Error. */
export function unwrap(r: CallResult): any {
  if ('ok' in r) return r.ok;
  if ('fault' in r) throw new PyFault(r.fault.code, r.fault.string);
  throw new Error(`${r.kind}: ${r.error}`);
}

export const sha1hex = (data: string | Buffer) => createHash('sha1').update(data).digest('hex');
export const binaryBytes = (v: any): Buffer => Buffer.from((v as { $binary: string }).$binary, 'base64');

/** The args Launchpad's own tests send for a binarypackage build (§8.2). */
export const BUILD_ARGS = { series: 'precise', suite: 'precise', ogrecomponent: 'main' };

export interface TestBuilder {
  dir: string;
  cacheDir: string;
  fifo: string;
  server: LpBuilderServer;
  /** Base URL (http://127.0.0.1:<port>). */
  url: string;
  rpcUrl: string;
  call(method: string, ...args: Json[]): Promise<any>;
  callResult(method: string, ...args: Json[]): Promise<CallResult>;
  /** Polls status() until it contains these items; returns the last status. */
  waitStatus(until: Record<string, Json>): Promise<any>;
  /** Writes a line to the scripted backend's FIFO. */
  send(line: string): Promise<void>;
  putCache(name: string, content: string | Buffer): void;
  /** Puts `fake-chroot` and `thing` in the cache and starts build `id` (§11 item 31). */
  startBuild(id?: string, extraArgs?: Record<string, Json>): Promise<any>;
  close(): Promise<void>;
}

export async function startTestBuilder(opts: Partial<LpBuilderServerOptions> = {}): Promise<TestBuilder> {
  const dir = mkdtempSync(join(tmpdir(), 'lp-builder-test-'));
  const cacheDir = join(dir, 'filecache');
  const workRoot = join(dir, 'work');
  await mkdir(cacheDir);
  await mkdir(workRoot);
  const fifo = join(dir, 'control.fifo');
  const o: LpBuilderServerOptions = { port: 0, cacheDir, archTag: 'i386', backend: 'scripted', controlFifo: fifo, workRoot, ...opts };
  const server = process.env.BUILDBOX_LP_BUILDER_CLI && cliExpressible(o) ? await startCliBuilder(o, dir) : await startLpBuilder(o);
  const rpcUrl = `${server.url}/rpc`;
  const callResult = async (method: string, ...args: Json[]) => (await pyCalls([{ url: rpcUrl, method, args }]))[0]!;
  const t: TestBuilder = {
    dir,
    cacheDir,
    fifo,
    server,
    url: server.url,
    rpcUrl,
    callResult,
    call: async (method, ...args) => unwrap(await callResult(method, ...args)),
    async waitStatus(until) {
      // The driver polls for a while; keep asking until it matches (the test timeout bounds this).
      for (;;) {
        const s = unwrap((await pyCalls([{ url: rpcUrl, method: 'status', until }]))[0]!);
        if (s && typeof s === 'object' && Object.entries(until).every(([k, v]) => JSON.stringify(s[k]) === JSON.stringify(v))) return s;
      }
    },
    send: (line) => appendFile(fifo, `${line}\n`),
    putCache: (name, content) => writeFileSync(join(cacheDir, name), content),
    async startBuild(id = 'some-id', extraArgs = {}) {
      t.putCache('fake-chroot', 'not really a chroot');
      t.putCache('thing', 'Source: foo\nVersion: 1.0-1\n');
      return t.call('build', id, 'binarypackage', 'fake-chroot', { 'foo_1.dsc': 'thing' }, { ...BUILD_ARGS, ...extraArgs });
    },
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

// BUILDBOX_LP_BUILDER_CLI=1 runs the builder as a `buildbox worker --no-amqp --xmlrpc` process
// (dist/cli.js) instead of in this process, for the options the command line can express.
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function cliExpressible(o: LpBuilderServerOptions): boolean {
  return typeof o.backend === 'string' && o.backendOptions === undefined && o.abortTimeoutMs === undefined && o.builderVersion === undefined && !o.host;
}

async function startCliBuilder(o: LpBuilderServerOptions, dir: string): Promise<LpBuilderServer> {
  const args = ['worker', '--no-amqp', '--xmlrpc', `127.0.0.1:${o.port ?? 0}`, '--buildroot', join(dir, 'worker'), '--filecache', o.cacheDir];
  args.push('--arch-tag', o.archTag, '--backend', String(o.backend));
  if (o.controlFifo) args.push('--control-fifo', o.controlFifo);
  if (o.prepCommand) args.push('--prep-command', o.prepCommand);
  if (o.legacyStatus) args.push('--legacy-status');
  // No builder_version in status() (the in-process default), whatever npm put in the environment.
  const { npm_package_version: _, ...env } = process.env;
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      const m = /ready: XML-RPC builder (http:\/\/\S+)\/rpc/.exec(l);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`buildbox worker exited: ${lines.join('\n')}`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    // Only the in-process server has an LpBuilder to look into.
    builder: undefined as never,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

export function readCacheFile(t: TestBuilder, name: string): string {
  return readFileSync(join(t.cacheDir, name), 'utf8');
}

export interface SeenRequest {
  path: string;
  headers: IncomingHttpHeaders;
}

/** A local HTTP file server (the "librarian"): path -> bytes; records every request it sees. */
export async function startFileServer(
  files: Record<string, string | Buffer>,
  opts: { requireAuth?: string; hold?: Promise<void>; redirects?: Record<string, string> } = {},
): Promise<{ url: string; requests: SeenRequest[]; close(): Promise<void> }> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    const to = opts.redirects?.[req.url ?? ''];
    if (to !== undefined) {
      res.writeHead(302, { location: to });
      return res.end();
    }
    if (opts.requireAuth && req.headers.authorization !== opts.requireAuth) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="librarian"' });
      return res.end('auth required');
    }
    const body = files[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404);
      return res.end('not found');
    }
    const data = Buffer.from(body);
    res.writeHead(200, { 'content-length': data.length });
    if (!opts.hold) return res.end(data);
    // Send half, then wait: lets a test observe the server while a download is in flight.
    res.write(data.subarray(0, data.length >> 1));
    void opts.hold.then(() => res.end(data.subarray(data.length >> 1)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** True if the process exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
