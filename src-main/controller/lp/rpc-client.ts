// The manager's side of the launchpad-buildd protocol: one XML-RPC call per HTTP POST to
// `<builder url>/rpc`, with a timeout per call (Launchpad gives ensurepresent 20 times the normal
// one, because the original builder downloads synchronously).
import { setMaxListeners } from 'node:events';
import { parseMethodResponse, serializeMethodCall, XmlRpcFault, type XmlRpcStruct, type XmlRpcValue } from '../../../src-worker/lp-builder/xmlrpc';
import { RequestTimeoutError, httpRequest } from '../../../src-worker/http-retry';

export { XmlRpcFault };

/** The builder could not be reached or answered something that is not XML-RPC. */
export class BuilderTransportError extends Error {
  override name = 'BuilderTransportError';
}

export interface BuilderStatus {
  builder_status: string;
  build_id?: string;
  build_status?: string;
  logtail?: Uint8Array;
  filemap?: Record<string, string>;
  dependencies?: string;
  builder_version?: string;
  [key: string]: unknown;
}

export interface BuilderClientOptions {
  /** Per-call timeout (Launchpad's socket_timeout, 40 s). */
  timeoutMs?: number;
  /** Aborts every call in flight (the manager stopping). */
  signal?: AbortSignal;
}

export const DEFAULT_RPC_TIMEOUT_MS = 40_000;

export class BuilderClient {
  readonly rpcUrl: string;
  private readonly timeoutMs: number;
  private readonly signal?: AbortSignal;

  constructor(baseUrl: string, opts: BuilderClientOptions = {}) {
    this.rpcUrl = `${baseUrl.replace(/\/+$/, '')}/rpc`;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
    this.signal = opts.signal;
    // A manager scanning N builders puts N calls in flight on its one signal, each with its own
    // abort listener (removed when the call ends); past 10 Node would warn of a leak.
    if (this.signal) setMaxListeners(0, this.signal);
  }

  async call(method: string, params: unknown[] = [], timeoutMs = this.timeoutMs): Promise<XmlRpcValue> {
    let body: Buffer;
    try {
      const res = await httpRequest(this.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: serializeMethodCall(method, params),
        timeoutMs,
        signal: this.signal,
      });
      body = res.bytes;
      if (res.status !== 200) throw new BuilderTransportError(`${method}: HTTP ${res.status} from ${this.rpcUrl}`);
    } catch (e) {
      if (e instanceof BuilderTransportError) throw e;
      const err = e as Error & { code?: string };
      const why = err instanceof RequestTimeoutError ? `no answer within ${timeoutMs} ms` : (err.code ?? err.message);
      throw new BuilderTransportError(`${method}: cannot reach ${this.rpcUrl}: ${why}`);
    }
    try {
      return parseMethodResponse(body);
    } catch (e) {
      if (e instanceof XmlRpcFault) throw e;
      throw new BuilderTransportError(`${method}: ${this.rpcUrl} answered something that is not XML-RPC: ${(e as Error).message}`);
    }
  }

  async echo(...args: unknown[]): Promise<XmlRpcValue> {
    return this.call('echo', args);
  }

  async info(): Promise<XmlRpcValue> {
    return this.call('info');
  }

  async status(): Promise<BuilderStatus> {
    const s = await this.call('status');
    if (!s || typeof s !== 'object' || Array.isArray(s) || s instanceof Uint8Array || typeof (s as XmlRpcStruct).builder_status !== 'string') {
      throw new BuilderTransportError(`status: ${this.rpcUrl} answered something that is not a status struct`);
    }
    return s as unknown as BuilderStatus;
  }

  async ensurepresent(sha1: string, url: string | null, username = '', password = ''): Promise<[boolean, string]> {
    const r = await this.call('ensurepresent', [sha1, url, username, password], this.timeoutMs * 20);
    if (!Array.isArray(r) || typeof r[0] !== 'boolean') throw new BuilderTransportError(`ensurepresent: unexpected answer ${JSON.stringify(r)}`);
    return [r[0], String(r[1] ?? '')];
  }

  async build(cookie: string, managerTag: string, chrootSha1: string, filemap: Record<string, string>, args: Record<string, unknown>): Promise<XmlRpcValue> {
    return this.call('build', [cookie, managerTag, chrootSha1, filemap, args]);
  }

  async abort(): Promise<XmlRpcValue> {
    return this.call('abort');
  }

  async clean(): Promise<XmlRpcValue> {
    return this.call('clean');
  }
}
