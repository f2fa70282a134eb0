// A small build farm for the buildd-manager tests: a real controller (port 0, no broker, its own
// database) scanning real launchpad-buildd faces (startLpBuilder on port 0, scripted or dpkg
// backend), with a suite for the host architecture, uploads of generated source packages and a
// registered chroot tarball.
import { mkdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { startController, type Controller } from '../../src-main/controller/controller';
import { startLpBuilder, type LpBuilderServer, type LpBuilderServerOptions } from '../../src-worker/lp-builder/server';
import { makeSourcePackage, type PackageSpec, type SourcePackage } from '../fixtures/make-package';
import { ADMIN_PASSWORD, ADMIN_USER, basic, request, waitFor, type ReqOpts, type Res } from '../helpers/controller';
import { tempDir, uniqueName, type TestDb } from '../helpers/db';
import { HOST_ARCH } from '../worker/helpers';

export { HOST_ARCH, waitFor };
export const AUTH = basic(ADMIN_USER, ADMIN_PASSWORD);

export interface Farm {
  c: Controller;
  url: string;
  suite: string;
  dir: string;
  /** Every line the controller logged (any level), in order. */
  lines: string[];
  req(method: string, path: string, opts?: ReqOpts): Promise<Res>;
  /** Multipart POST with file parts (name → bytes) and text fields, as admin. */
  postFiles(path: string, files: Record<string, Buffer | string>, fields?: Record<string, string>, auth?: boolean): Promise<Res>;
  upload(spec?: PackageSpec): Promise<{ pkg: SourcePackage; res: Res }>;
  addChroot(): Promise<Res>;
  addBuilder(name: string, url: string, extra?: Record<string, unknown>): Promise<Res>;
  builder(name: string): Promise<any>;
  job(id: number): Promise<{ status: string; result: string | null; result_details: string | null; attempts: number; lease_owner: string | null }>;
  history(id: number): Promise<string[]>;
  close(): Promise<void>;
}

export interface FarmOptions {
  scanIntervalMs?: number;
  cancelTimeoutMs?: number;
}

export async function startFarm(make: () => TestDb, opts: FarmOptions = {}): Promise<Farm> {
  const db = make();
  const data = tempDir('buildbox-lpm-');
  const c = await startController({
    db: db.url,
    amqp: null,
    port: 0,
    dataDir: data.dir,
    adminPassword: ADMIN_PASSWORD,
    logLevel: process.env.BUILDBOX_TEST_LOG ? 'debug' : 'silent',
    scanIntervalMs: opts.scanIntervalMs ?? 100,
    builderCancelTimeoutMs: opts.cancelTimeoutMs,
  });
  const lines: string[] = [];
  const orig = c.ctx.log;
  const tap = (level: keyof typeof orig) => (m: string) => {
    lines.push(m);
    orig[level](m);
  };
  c.ctx.log = { debug: tap('debug'), info: tap('info'), warn: tap('warn'), error: tap('error') };

  const suite = uniqueName('suite');
  const k = c.ctx.db.kysely;
  const must = async (r: Promise<Res>, what: string) => {
    const res = await r;
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
    return res;
  };
  const form = (path: string, f: Record<string, string | number>) => request(c.url, 'PUT', path, { form: f, auth: true });
  await must(form('/suite', { name: suite }), 'suite');
  if (!(await k.selectFrom('arch').select('id').where('name', '=', HOST_ARCH).executeTakeFirst())) await must(form('/arch', { name: HOST_ARCH }), 'arch');
  const suiteId = (await k.selectFrom('suite').select('id').where('name', '=', suite).executeTakeFirstOrThrow()).id;
  const archId = (await k.selectFrom('arch').select('id').where('name', '=', HOST_ARCH).executeTakeFirstOrThrow()).id;
  await must(form('/suitearch', { suite_id: suiteId, arch_id: archId, master_weight: 1 }), 'suitearch');

  const postFiles: Farm['postFiles'] = async (path, files, fields = {}, auth = true) => {
    const fd = new FormData();
    for (const [k2, v] of Object.entries(fields)) fd.append(k2, v);
    for (const [name, data] of Object.entries(files)) fd.append('file', new Blob([typeof data === 'string' ? data : new Uint8Array(data)]), name);
    return request(c.url, 'POST', path, { raw: fd as never, auth });
  };

  const farm: Farm = {
    c,
    url: c.url,
    suite,
    dir: data.dir,
    lines,
    req: (method, path, o) => request(c.url, method, path, o),
    postFiles,
    async upload(spec = {}) {
      const dir = join(data.dir, 'src', uniqueName('pkg'));
      mkdirSync(dir, { recursive: true });
      const pkg = makeSourcePackage(dir, spec);
      const files = Object.fromEntries(pkg.files.map((f) => [f, readFileSync(join(dir, f))]));
      const res = await postFiles('/api/v1/uploads', files, { suite, distribution: 'Debian' });
      return { pkg, res };
    },
    addChroot: () => postFiles('/api/v1/chroots', { 'chroot.tar': 'not really a chroot tarball' }, { suite, arch: HOST_ARCH }),
    addBuilder: (name, url, extra = {}) => request(c.url, 'POST', '/api/v1/builders', { json: { name, url, arch: HOST_ARCH, ...extra }, auth: true }),
    async builder(name) {
      const r = await request(c.url, 'GET', `/api/v1/builders/${name}`);
      if (r.status !== 200) throw new Error(`builder ${name}: ${r.status} ${r.text}`);
      return r.json();
    },
    async job(id) {
      return k.selectFrom('job').select(['status', 'result', 'result_details', 'attempts', 'lease_owner']).where('id', '=', id).executeTakeFirstOrThrow();
    },
    async history(id) {
      const rows = await k
        .selectFrom('jobstatus as js')
        .innerJoin('status as s', 's.id', 'js.status_id')
        .select('s.name')
        .where('js.job_id', '=', id)
        .orderBy('js.id')
        .execute();
      return rows.map((r) => r.name);
    },
    async close() {
      await c.close();
      await db.cleanup();
      data.cleanup();
    },
  };
  return farm;
}

export interface Face {
  server: LpBuilderServer;
  url: string;
  port: number;
  fifo: string;
  /** Writes a line to the scripted backend's FIFO. */
  send(line: string): Promise<void>;
  close(): Promise<void>;
}

/** A launchpad-buildd face (scripted backend unless told otherwise) on `port` (0 = any). */
export async function startFace(opts: Partial<LpBuilderServerOptions> & { port?: number } = {}): Promise<Face> {
  const t = tempDir('buildbox-face-');
  const cacheDir = join(t.dir, 'filecache');
  const workRoot = join(t.dir, 'work');
  mkdirSync(cacheDir);
  mkdirSync(workRoot);
  const fifo = join(t.dir, 'control.fifo');
  const server = await startLpBuilder({ port: 0, cacheDir, workRoot, archTag: HOST_ARCH, backend: 'scripted', controlFifo: fifo, ...opts });
  const { appendFile } = await import('node:fs/promises');
  return {
    server,
    url: server.url,
    port: server.port,
    fifo,
    send: (line) => appendFile(fifo, `${line}\n`),
    async close() {
      await server.close();
      t.cleanup();
    },
  };
}

/**
 * GET a URL on a connection of its own (no keep-alive): a pooled keep-alive socket to the
 * controller can hold up its close() for the keep-alive timeout.
 */
export function getBytes(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}
