// Spec §11 items 14-25: ensurepresent and the file cache, plus name checks and non-blocking downloads.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pyCalls, PyFault, sha1hex, startFileServer, startTestBuilder, unwrap, type TestBuilder } from './helpers';

let t: TestBuilder;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  t = await startTestBuilder();
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await t.close();
});

async function fileServer(...args: Parameters<typeof startFileServer>) {
  const s = await startFileServer(...args);
  cleanups.push(s.close);
  return s;
}

describe('ensurepresent without a URL', () => {
  it("§11.14 a missing file gives [False, 'No URL']", async () => {
    expect(await t.call('ensurepresent', 'blahblah', null, null, null)).toEqual([false, 'No URL']);
  });

  it("§11.15 after writing C/blahblah it gives [True, 'No URL']", async () => {
    t.putCache('blahblah', 'x');
    expect(await t.call('ensurepresent', 'blahblah', null, null, null)).toEqual([true, 'No URL']);
  });
});

describe('ensurepresent with a URL', () => {
  const b = Buffer.from('some bytes for the cache\n');
  const s = sha1hex(b);

  it("§11.16 a good download gives [True, 'Download']", async () => {
    const fs = await fileServer({ '/f': b });
    expect(await t.call('ensurepresent', s, `${fs.url}/f`, '', '')).toEqual([true, 'Download']);
    expect(fs.requests).toHaveLength(1);
    expect(fs.requests[0]!.headers.authorization).toBeUndefined(); // '' and '' send no credentials
  });

  it("§11.17 repeating it gives [True, 'Cache'] without a second request", async () => {
    const fs = await fileServer({ '/f': b });
    await t.call('ensurepresent', s, `${fs.url}/f`, '', '');
    expect(await t.call('ensurepresent', s, `${fs.url}/f`, '', '')).toEqual([true, 'Cache']);
    expect(fs.requests).toHaveLength(1);
  });

  it('§11.18 GET /filecache/<s> returns 200 and exactly the bytes', async () => {
    const fs = await fileServer({ '/f': b });
    await t.call('ensurepresent', s, `${fs.url}/f`, '', '');
    const res = await fetch(`${t.url}/filecache/${s}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(b);
  });

  it('§11.19 GET /filecache/<40 hex never stored> is 404', async () => {
    expect((await fetch(`${t.url}/filecache/${'0123456789abcdef'.repeat(3).slice(0, 40)}`)).status).toBe(404);
  });

  it('§11.20 a digest mismatch is refused and leaves neither the file nor its .tmp', async () => {
    const fs = await fileServer({ '/f': b });
    const s2 = sha1hex('something else');
    expect(await t.call('ensurepresent', s2, `${fs.url}/f`, '', '')).toEqual([false, 'Digests did not match, removing again!']);
    expect((await fetch(`${t.url}/filecache/${s2}`)).status).toBe(404);
    expect(existsSync(join(t.cacheDir, s2))).toBe(false);
    expect(existsSync(join(t.cacheDir, `${s2}.tmp`))).toBe(false);
    // An upper-case sum never verifies (the comparison is with the lower-case hex digest).
    expect((await t.call('ensurepresent', s.toUpperCase(), `${fs.url}/f`, '', ''))[0]).toBe(false);
  });

  it('follows redirects, sending the credentials only to the host they were given for', async () => {
    const fs = await fileServer({ '/f': b }, { redirects: { '/a': '/b', '/b': '/f', '/loop': '/loop' } });
    expect(await t.call('ensurepresent', s, `${fs.url}/a`, 'user', 'pass')).toEqual([true, 'Download']);
    expect(fs.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/a', 'Basic dXNlcjpwYXNz'],
      ['/b', 'Basic dXNlcjpwYXNz'],
      ['/f', 'Basic dXNlcjpwYXNz'],
    ]);
    const s2 = sha1hex(Buffer.concat([b, b]));
    const far = await fileServer({ '/f': Buffer.concat([b, b]) });
    const fs2 = await fileServer({}, { redirects: { '/away': `${far.url}/f` } });
    expect(await t.call('ensurepresent', s2, `${fs2.url}/away`, 'user', 'pass')).toEqual([true, 'Download']);
    expect(far.requests).toHaveLength(1);
    expect(far.requests[0]!.headers.authorization).toBeUndefined();
    const [ok, info] = await t.call('ensurepresent', sha1hex('loop'), `${fs.url}/loop`, '', '');
    expect([ok, info]).toEqual([false, 'Error accessing Librarian: HTTP Error 302: too many redirects']);
  });

  it("§11.21 a URL answering 404 gives [False, 'Error accessing Librarian: ...']", async () => {
    const fs = await fileServer({});
    const [ok, info] = await t.call('ensurepresent', s, `${fs.url}/missing`, '', '');
    expect(ok).toBe(false);
    expect(info).toBe('Error accessing Librarian: HTTP Error 404: Not Found');
  });

  it('§11.22 a closed port (and a bad URL) give the same prefix', async () => {
    const fs = await fileServer({});
    const closedUrl = `${fs.url}/f`;
    await fs.close();
    const r = await pyCalls([
      { url: t.rpcUrl, method: 'ensurepresent', args: [s, closedUrl, '', ''] },
      { url: t.rpcUrl, method: 'ensurepresent', args: [s, '', '', ''] },
    ]);
    for (const [ok, info] of r.map(unwrap)) {
      expect(ok).toBe(false);
      expect(info).toMatch(/^Error accessing Librarian: /);
    }
    expect(readdirSync(t.cacheDir)).toEqual([]);
  });

  it('§11.23 user/pass are sent pre-emptively as Basic auth on the first request', async () => {
    const b3 = Buffer.from('private bytes');
    const fs = await fileServer({ '/p': b3 }, { requireAuth: 'Basic dXNlcjpwYXNz' });
    expect(await t.call('ensurepresent', sha1hex(b3), `${fs.url}/p`, 'user', 'pass')).toEqual([true, 'Download']);
    expect(fs.requests).toHaveLength(1);
    expect(fs.requests[0]!.headers.authorization).toBe('Basic dXNlcjpwYXNz');
  });

  it("§11.24 username '' with a macaroon password sends Basic base64(':macaroon')", async () => {
    const b4 = Buffer.from('restricted librarian file');
    const fs = await fileServer({ '/m': b4 }, { requireAuth: 'Basic Om1hY2Fyb29u' });
    expect(await t.call('ensurepresent', sha1hex(b4), `${fs.url}/m`, '', 'macaroon')).toEqual([true, 'Download']);
    expect(fs.requests[0]!.headers.authorization).toBe('Basic Om1hY2Fyb29u');
  });

  it('§11.25 ensurepresent is accepted while BUILDING and while WAITING', async () => {
    const x = Buffer.from('x'),
      y = Buffer.from('y');
    const fs = await fileServer({ '/x': x, '/y': y });
    await t.startBuild();
    expect((await t.call('status')).builder_status).toBe('BuilderStatus.BUILDING');
    expect(await t.call('ensurepresent', sha1hex(x), `${fs.url}/x`, '', '')).toEqual([true, 'Download']);
    await t.send('RESULT PACKAGEFAIL');
    await t.waitStatus({ builder_status: 'BuilderStatus.WAITING' });
    expect(await t.call('ensurepresent', sha1hex(y), `${fs.url}/y`, '', '')).toEqual([true, 'Download']);
    // The builder's messages land in the open build log.
    expect(await (await fetch(`${t.url}/filecache/buildlog`)).text()).toContain(`Fetching ${sha1hex(y)} by url ${fs.url}/y`);
  });
});

describe('cache names and downloads (hardening beyond §11)', () => {
  it('refuses names with "/" or ".." with Fault 8002, and /filecache/ refuses them too', async () => {
    for (const name of ['../x', 'a/b', '..', '.', '', 'buildlog.tmp']) {
      const r = (await pyCalls([{ url: t.rpcUrl, method: 'ensurepresent', args: [name, 'http://127.0.0.1:1/x', '', ''] }]))[0]!;
      expect('fault' in r && r.fault.code).toBe(8002);
    }
    expect((await fetch(`${t.url}/filecache/..%2Fetc%2Fpasswd`)).status).toBe(400);
    expect((await fetch(`${t.url}/filecache/a%2Fb`)).status).toBe(400);
    expect((await fetch(`${t.url}/filecache/`)).status).toBe(404);
    expect((await fetch(`${t.url}/filecache/buildlog`)).status).toBe(404); // no build yet
  });

  it('status() answers while a download is in flight; the file appears only when complete', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const big = Buffer.alloc(512 * 1024, 7);
    const fs = await fileServer({ '/big': big }, { hold });
    const s = sha1hex(big);
    const download = pyCalls([{ url: t.rpcUrl, method: 'ensurepresent', args: [s, `${fs.url}/big`, '', ''] }]);
    // Wait until the builder has asked for the file, then ask it something else.
    while (fs.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(await t.call('status')).toEqual({ builder_status: 'BuilderStatus.IDLE' });
    expect(await t.call('ensurepresent', s, null, null, null)).toEqual([false, 'No URL']);
    expect((await fetch(`${t.url}/filecache/${s}`)).status).toBe(404);
    release();
    expect(unwrap((await download)[0]!)).toEqual([true, 'Download']);
    expect(Buffer.from(await (await fetch(`${t.url}/filecache/${s}`)).arrayBuffer())).toEqual(big);
  });

  it('two concurrent requests for the same file share one download', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const data = Buffer.from('shared download');
    const fs = await fileServer({ '/d': data }, { hold });
    const call = { url: t.rpcUrl, method: 'ensurepresent', args: [sha1hex(data), `${fs.url}/d`, '', ''] };
    const a = pyCalls([call]);
    while (fs.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
    const b = pyCalls([call]);
    // b is parked on a's download; give it time to arrive, then finish.
    await new Promise((r) => setTimeout(r, 300));
    release();
    expect(unwrap((await a)[0]!)).toEqual([true, 'Download']);
    expect(unwrap((await b)[0]!)[0]).toBe(true);
    expect(fs.requests).toHaveLength(1);
  });

  it('an empty cache file is served as an empty 200', async () => {
    t.putCache('empty', '');
    const res = await fetch(`${t.url}/filecache/empty`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('HEAD /filecache/<name> gives the length without a body', async () => {
    t.putCache('blahblah', 'twelve bytes');
    const res = await fetch(`${t.url}/filecache/blahblah`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('12');
  });

  it('wrong argument types are Fault 8002', async () => {
    const r = await t.callResult('ensurepresent', 42, null, null, null);
    expect(r).toMatchObject({ fault: { code: 8002 } });
    await expect(t.call('ensurepresent', 'x', 5, null, null)).rejects.toBeInstanceOf(PyFault);
  });
});
