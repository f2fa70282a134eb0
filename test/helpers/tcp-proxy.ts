// A tiny TCP proxy for tests: put it between a client and a real service (RabbitMQ, the
// controller, PostgreSQL...) and simulate outages without touching the shared service.
//
//   const proxy = await startTcpProxy(AMQP_TEST_URL);
//   const link = new AmqpLink(proxy.url(), log);   // amqp://guest:guest@127.0.0.1:<proxy port>/
//   proxy.cut();       // every connection dies now, new ones are refused
//   proxy.restore();   // connections go through again
//   await proxy.close();
//
// The listener stays open across cut()/restore() (new connections are accepted and destroyed at
// once), so the port stays ours and the client's URL stays valid: closing and re-listening
// could lose the port to another process in between.
import net from 'node:net';

export type ProxyMode = 'open' | 'cut' | 'blackhole';

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** `host:port` of the proxy. */
  readonly address: string;
  /**
   * `base` (default: the URL the proxy was started with, if any) with its host and port replaced
   * by the proxy's; user, password, path and query are kept.
   */
  url(base?: string): string;
  /** Open client connections right now. */
  connections(): number;
  /** Connections accepted since start (including ones destroyed by cut()). */
  accepted(): number;
  mode(): ProxyMode;
  /** Destroy every connection and refuse (accept + destroy) new ones: the peer sees a reset/close. */
  cut(): void;
  /**
   * Keep sockets open but drop all data both ways, and accept new connections silently: the
   * peer sees a hung service (what heartbeats and timeouts are for), not a closed one.
   */
  blackhole(): void;
  /** Forward again. Connections killed by cut() stay dead; blackholed ones stay useless. */
  restore(): void;
  /** Stop listening and destroy everything. Idempotent. */
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
  /** A blackholed pair never forwards again, even after restore(): its byte stream has a gap. */
  dead: boolean;
}

/**
 * Start a proxy on 127.0.0.1, port 0 (the OS picks), to `target`: a URL (amqp://, http://,
 * postgres://...; its port or the scheme's default is used) or `{ host, port }`.
 */
export async function startTcpProxy(target: string | { host: string; port: number }): Promise<TcpProxy> {
  const baseUrl = typeof target === 'string' ? target : null;
  const { host: targetHost, port: targetPort } = typeof target === 'string' ? hostPortOf(target) : target;
  const pairs = new Set<Pair>();
  let mode: ProxyMode = 'open';
  let accepted = 0;
  let closed = false;

  const destroy = (p: Pair) => {
    p.client.destroy();
    p.upstream?.destroy();
    pairs.delete(p);
  };

  const server = net.createServer((client) => {
    accepted++;
    // Errors (ECONNRESET when we or the peer kill a socket) are expected here; without a
    // listener they would crash the test process.
    client.on('error', () => {});
    if (mode === 'cut' || closed) {
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: null, dead: mode === 'blackhole' };
    pairs.add(pair);
    client.on('close', () => destroy(pair));
    if (pair.dead) {
      // Swallow whatever the client says; answer nothing.
      client.on('data', () => {});
      return;
    }
    client.setNoDelay(true);
    const upstream = net.connect({ host: targetHost, port: targetPort });
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => {});
    upstream.on('close', () => destroy(pair));
    // Manual forwarding rather than pipe(), so that blackhole() can drop bytes mid-stream.
    client.on('data', (chunk) => {
      if (!pair.dead) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.dead) client.write(chunk);
    });
    client.on('end', () => {
      if (!pair.dead) upstream.end();
    });
    upstream.on('end', () => {
      if (!pair.dead) client.end();
    });
  });
  server.on('error', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  const host = '127.0.0.1';

  return {
    host,
    port,
    address: `${host}:${port}`,
    url(base?: string) {
      const b = base ?? baseUrl;
      if (!b) throw new Error('tcp-proxy: url() needs a base URL when the proxy was started with { host, port }');
      const u = new URL(b);
      u.hostname = host;
      u.port = String(port);
      return u.toString();
    },
    connections: () => pairs.size,
    accepted: () => accepted,
    mode: () => mode,
    cut() {
      mode = 'cut';
      for (const p of [...pairs]) destroy(p);
    },
    blackhole() {
      mode = 'blackhole';
      for (const p of pairs) p.dead = true;
    },
    restore() {
      if (!closed) mode = 'open';
    },
    async close() {
      if (closed) return;
      closed = true;
      mode = 'cut';
      for (const p of [...pairs]) destroy(p);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const DEFAULT_PORTS: Record<string, number> = {
  'amqp:': 5672,
  'amqps:': 5671,
  'http:': 80,
  'https:': 443,
  'postgres:': 5432,
  'postgresql:': 5432,
};

function hostPortOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : DEFAULT_PORTS[u.protocol];
  if (!port) throw new Error(`tcp-proxy: no port in ${url}`);
  // URL keeps IPv6 literals bracketed; net.connect wants them bare.
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port };
}
