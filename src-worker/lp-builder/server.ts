// The launchpad-buildd-compatible HTTP face: XML-RPC on POST /rpc (and any /rpc/... sub-path, as
// Twisted's leaf resource), the file cache on GET /filecache/<name>. Faults travel in HTTP 200
// (Twisted's client treats any other status as a transport error). Binds 127.0.0.1:8221 by default
// (the original listened on every interface; we don't unless told to).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BuildBackend } from '../backends/backend';
import { createBackend, type BackendOptions } from '../backends/index';
import { ScriptedBackend } from '../backends/scripted';
import { LpBuilder } from './builder';
import { BuilderRefusal, FAULT_FAILURE, FAULT_NOT_FOUND } from './errors';
import { BUILDLOG, isServableName } from './file-cache';
import { builderMethods } from './rpc-methods';
import { parseMethodCall, serializeFault, serializeResponse, XmlRpcParseError, XmlRpcSerializeError } from './xmlrpc';

export interface LpBuilderServerOptions {
  host?: string;
  port?: number;
  cacheDir: string;
  archTag: string;
  /**
   * A backend instance, or a backend name: 'scripted' (the FIFO-driven test backend, needs
   * controlFifo), or one of the worker's backends ('sbuild', 'dpkg', 'dry-run').
   */
  backend: BuildBackend | 'scripted' | 'sbuild' | 'dpkg' | 'dry-run' | (string & {});
  /** Options for a backend created by name. */
  backendOptions?: BackendOptions;
  controlFifo?: string;
  prepCommand?: string;
  legacyStatus?: boolean;
  log?: (line: string) => void;
  /** Extras beyond the launchpad-buildd config: see LpBuilderOptions. */
  builderVersion?: string;
  abortTimeoutMs?: number;
  workRoot?: string;
}

export interface LpBuilderServer {
  /** Base URL, e.g. http://127.0.0.1:8221 (XML-RPC at `${url}/rpc`). */
  url: string;
  port: number;
  builder: LpBuilder;
  close(): Promise<void>;
}

/** XML-RPC requests are small; this bounds memory against a hostile client. */
const MAX_RPC_BODY = 16 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_RPC_BODY) {
        // Stop reading; the caller answers 413 and the connection is closed after it.
        req.pause();
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

export async function startLpBuilder(opts: LpBuilderServerOptions): Promise<LpBuilderServer> {
  const say = opts.log ?? (() => {});
  let ownBackend: ScriptedBackend | null = null;
  let backend: BuildBackend;
  if (opts.backend === 'scripted') {
    if (!opts.controlFifo) throw new Error("the 'scripted' backend needs controlFifo");
    ownBackend = new ScriptedBackend(opts.controlFifo);
    await ownBackend.open();
    backend = ownBackend;
  } else if (typeof opts.backend === 'string') {
    backend = createBackend(opts.backend, opts.backendOptions);
  } else backend = opts.backend;

  const builder = new LpBuilder({
    cacheDir: opts.cacheDir,
    archTag: opts.archTag,
    backend,
    prepCommand: opts.prepCommand,
    legacyStatus: opts.legacyStatus,
    builderVersion: opts.builderVersion,
    abortTimeoutMs: opts.abortTimeoutMs,
    workRoot: opts.workRoot,
    log: say,
  });
  await builder.init();
  const methods = builderMethods(builder);

  async function handleRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return send(res, 405, 'Method Not Allowed: XML-RPC takes POST only\n', undefined, { allow: 'POST' });
    const body = await readBody(req);
    if (body === null) return send(res, 413, 'XML-RPC request too large\n', undefined, { connection: 'close' });
    const xml = (s: string) => send(res, 200, s, 'text/xml; charset=utf-8');
    let call;
    try {
      call = parseMethodCall(body);
    } catch (e) {
      if (!(e instanceof XmlRpcParseError)) throw e;
      return xml(serializeFault(FAULT_FAILURE, `Can't deserialize input: ${e.message}`));
    }
    const method = methods.get(call.methodName);
    if (!method) return xml(serializeFault(FAULT_NOT_FOUND, `procedure ${call.methodName} not found`));
    let result;
    try {
      result = await method(call.params);
    } catch (e) {
      if (e instanceof BuilderRefusal) {
        say(`${call.methodName}: refused: ${e.message}`);
        return xml(serializeFault(FAULT_FAILURE, e.message));
      }
      // Unexpected: the details go to our log, not to the client (as Twisted does).
      say(`${call.methodName}: internal error: ${(e as Error).stack ?? e}`);
      return xml(serializeFault(FAULT_FAILURE, 'error'));
    }
    try {
      return xml(serializeResponse(result));
    } catch (e) {
      if (!(e instanceof XmlRpcSerializeError)) throw e;
      return xml(serializeFault(FAULT_FAILURE, `Can't serialize output: ${e.message}`));
    }
  }

  async function handleFileCache(rawName: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed\n', undefined, { allow: 'GET, HEAD' });
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      return send(res, 400, 'bad file name encoding\n');
    }
    if (!isServableName(name)) return send(res, name === '' ? 404 : 400, name === '' ? 'No Such Resource\n' : 'invalid cache file name\n');
    const path = builder.cache.path(name);
    const st = await stat(path).catch(() => null);
    if (!st?.isFile()) return send(res, 404, 'No Such Resource\n');
    res.writeHead(200, {
      'content-type': name === BUILDLOG ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'content-length': st.size,
    });
    if (req.method === 'HEAD' || st.size === 0) return void res.end();
    // The log may still grow while we send it: stop at the size we announced.
    const stream = createReadStream(path, { start: 0, end: st.size - 1 });
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = path === '/rpc' || path.startsWith('/rpc/') ? handleRpc(req, res) : path.startsWith('/filecache/') ? handleFileCache(path.slice('/filecache/'.length), req, res) : null;
    if (!route) return send(res, 404, 'No Such Resource\n');
    route.catch((e: Error) => {
      say(`HTTP ${req.method} ${path}: ${e.stack ?? e}`);
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8221, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  say(`launchpad-buildd face listening on http://${urlHost}:${port}/rpc (arch ${opts.archTag}, backend ${backend.name})`);

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    builder,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeAllConnections();
        // Release a scripted build waiting on its FIFO first, so the builder can wind down.
        await ownBackend?.close();
        await builder.close();
        await stopped;
      })();
      return closing;
    },
  };
}
