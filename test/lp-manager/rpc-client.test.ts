// The manager's XML-RPC client against real HTTP servers: answers, faults, and every way a call
// can fail (refused, silent, aborted, not 200, not XML-RPC) as a BuilderTransportError that
// says which, and keep-alive connections reused from call to call.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BuilderClient, BuilderTransportError, XmlRpcFault } from '../../src-main/controller/lp/rpc-client';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** A server answering each POST through `answer`; counts the TCP connections it accepted. */
async function serve(answer: (body: string, res: http.ServerResponse) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => answer(body, res));
  });
  server.on('connection', () => connections++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

const xml = (inner: string) => `<?xml version="1.0"?><methodResponse>${inner}</methodResponse>`;

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('the call succeeded');
}

describe('BuilderClient', () => {
  it('sends the method call to <url>/rpc and returns the answer, over one kept-alive connection', async () => {
    const seen: string[] = [];
    const s = await serve((body, res) => {
      seen.push(body);
      res.setHeader('content-type', 'text/xml');
      res.end(xml('<params><param><value><array><data><value><string>x</string></value><value><int>7</int></value></data></array></value></param></params>'));
    });
    const c = new BuilderClient(`${s.url}/`);
    expect(c.rpcUrl).toBe(`${s.url}/rpc`);
    for (let i = 0; i < 5; i++) expect(await c.echo('x', 7)).toEqual(['x', 7]);
    expect(seen[0]).toContain('<methodName>echo</methodName>');
    expect(s.connections()).toBe(1);
  });

  it('passes an XML-RPC fault on as XmlRpcFault', async () => {
    const s = await serve((_b, res) =>
      res.end(
        xml(
          '<fault><value><struct><member><name>faultCode</name><value><int>8002</int></value></member><member><name>faultString</name><value><string>nope</string></value></member></struct></value></fault>',
        ),
      ),
    );
    const e = await failure(new BuilderClient(s.url).status());
    expect(e).toBeInstanceOf(XmlRpcFault);
    expect(e.message).toContain('nope');
  });

  it('says a refused connection is one', async () => {
    const s = await serve(() => {});
    const url = s.url;
    servers.pop()!.close();
    const e = await failure(new BuilderClient(url).echo());
    expect(e).toBeInstanceOf(BuilderTransportError);
    expect(e.message).toBe(`echo: cannot reach ${url}/rpc: ECONNREFUSED`);
  });

  it('gives up on a builder that does not answer within the timeout', async () => {
    const s = await serve(() => {}); // never answers
    const t0 = Date.now();
    const e = await failure(new BuilderClient(s.url, { timeoutMs: 300 }).status());
    expect(e).toBeInstanceOf(BuilderTransportError);
    expect(e.message).toBe(`status: cannot reach ${s.url}/rpc: no answer within 300 ms`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('abandons calls in flight when its signal fires, and refuses new ones', async () => {
    const s = await serve(() => {});
    const ac = new AbortController();
    const c = new BuilderClient(s.url, { signal: ac.signal });
    const pending = failure(c.status());
    setTimeout(() => ac.abort(), 100);
    const e = await pending;
    expect(e).toBeInstanceOf(BuilderTransportError);
    expect(e.message).toBe(`status: cannot reach ${s.url}/rpc: aborted`);
    expect((await failure(c.echo())).message).toBe(`echo: cannot reach ${s.url}/rpc: aborted`);
  });

  it('many calls in flight on one shared signal (a scan of many builders) raise no listener-leak warning', async () => {
    const s = await serve((_b, res) => setTimeout(() => res.end(xml('<params><param><value><string>ok</string></value></param></params>')), 50));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const ac = new AbortController();
      const clients = Array.from({ length: 30 }, () => new BuilderClient(s.url, { signal: ac.signal }));
      expect(await Promise.all(clients.map((c) => c.echo()))).toEqual(Array(30).fill('ok'));
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('reports an HTTP error status and an answer that is not XML-RPC', async () => {
    const bad = await serve((_b, res) => {
      res.statusCode = 500;
      res.end('oops');
    });
    expect((await failure(new BuilderClient(bad.url).echo())).message).toBe(`echo: HTTP 500 from ${bad.url}/rpc`);
    const junk = await serve((_b, res) => res.end('<html>hello</html>'));
    const e = await failure(new BuilderClient(junk.url).echo());
    expect(e).toBeInstanceOf(BuilderTransportError);
    expect(e.message).toMatch(new RegExp(`^echo: ${junk.url}/rpc answered something that is not XML-RPC: `));
  });
});
