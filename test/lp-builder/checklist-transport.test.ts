// Spec §11 items 1-13: transport, echo/info, status and refusals while idle.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pyCalls, PyFault, startTestBuilder, unwrap, type Json, type TestBuilder } from './helpers';

let t: TestBuilder;
beforeEach(async () => {
  t = await startTestBuilder();
});
afterEach(async () => {
  await t.close();
});

async function expectFault(p: Promise<unknown>, code: number): Promise<PyFault> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PyFault);
  expect((e as PyFault).code).toBe(code);
  return e as PyFault;
}

describe('transport', () => {
  it('§11.1 ServerProxy(".../rpc") and (".../rpc/") both work, and so does any sub-path', async () => {
    const r = await pyCalls([
      { url: `${t.url}/rpc`, method: 'echo', args: ['x'] },
      { url: `${t.url}/rpc/`, method: 'echo', args: ['x'] },
      { url: `${t.url}/rpc/anything`, method: 'echo', args: ['x'] },
    ]);
    expect(r.map(unwrap)).toEqual([['x'], ['x'], ['x']]);
  });

  it('§11.2 GET /rpc is 405; faults come back with HTTP 200', async () => {
    const get = await fetch(`${t.url}/rpc`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const body = "<?xml version='1.0'?><methodCall><methodName>no_such_method</methodName><params/></methodCall>";
    const post = await fetch(`${t.url}/rpc`, { method: 'POST', body, headers: { 'content-type': 'text/xml' } });
    expect(post.status).toBe(200);
    const text = await post.text();
    expect(text).toContain('<fault>');
    expect(text).toContain('<int>8001</int>');
  });

  it('§11.3 an unknown method raises Fault 8001 (so does system.listMethods: no introspection)', async () => {
    const f = await expectFault(t.call('no_such_method'), 8001);
    expect(f.faultString).toBe('procedure no_such_method not found');
    await expectFault(t.call('system.listMethods'), 8001);
  });

  it('§11.4 a wrong argument count raises Fault 8002', async () => {
    await expectFault(t.call('ensurepresent', 'x'), 8002);
    await expectFault(t.call('status', 1), 8002);
    await expectFault(t.call('build', 'a', 'binarypackage'), 8002);
  });

  it('malformed XML is a Fault 8002 in HTTP 200, and unknown paths are 404', async () => {
    const post = await fetch(`${t.url}/rpc`, { method: 'POST', body: '<methodCall><methodName>echo</methodName>' });
    expect(post.status).toBe(200);
    expect(await post.text()).toContain('<int>8002</int>');
    const dtd = await fetch(`${t.url}/rpc`, {
      method: 'POST',
      body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><methodCall><methodName>echo</methodName></methodCall>',
    });
    expect(await dtd.text()).toContain('<int>8002</int>');
    expect((await fetch(`${t.url}/RPC2`, { method: 'POST', body: '' })).status).toBe(404);
  });

  it('an oversized request body is refused with 413, and the server keeps serving', async () => {
    const res = await fetch(`${t.url}/rpc`, { method: 'POST', body: 'x'.repeat(17 * 1024 * 1024) }).catch((e: Error) => e);
    // Either the 413 arrives, or the connection is closed while the client is still sending.
    if (!(res instanceof Error)) expect(res.status).toBe(413);
    expect(await t.call('echo', 'still here')).toEqual(['still here']);
  });
});

describe('echo / info', () => {
  it("§11.5 echo('Hello World') == ['Hello World']", async () => {
    expect(await t.call('echo', 'Hello World')).toEqual(['Hello World']);
  });

  it("§11.6 echo('foo', 'bar', 42) and echo() round-trip", async () => {
    expect(await t.call('echo', 'foo', 'bar', 42)).toEqual(['foo', 'bar', 42]);
    expect(await t.call('echo')).toEqual([]);
    // Every value type, nil included, comes back unchanged. (No bare CR: Python sends it raw and
    // XML parsing turns it into LF, on any server.)
    const all: Json[] = [true, false, -7, 2.5, '<&>"\' \n\tü', null, { $binary: Buffer.from([0, 255, 10]).toString('base64') }, [1, [2]], { k: { n: null } }];
    expect(await t.call('echo', ...all)).toEqual(all);
  });

  it("§11.7 info() has 3 elements, starting ['1.0', 'i386']", async () => {
    const info = await t.call('info');
    expect(info).toHaveLength(3);
    expect(info.slice(0, 2)).toEqual(['1.0', 'i386']);
  });

  it("§11.8 info()[2] holds 'binarypackage' and only strings", async () => {
    const tags = (await t.call('info'))[2] as unknown[];
    expect(tags).toContain('binarypackage');
    for (const tag of tags) expect(typeof tag).toBe('string');
  });
});

describe('status when idle', () => {
  it("§11.9 a fresh server reports 'BuilderStatus.IDLE'", async () => {
    expect((await t.call('status')).builder_status).toBe('BuilderStatus.IDLE');
  });

  it('§11.10 the idle struct has only builder_status (and optionally a string builder_version)', async () => {
    expect(await t.call('status')).toEqual({ builder_status: 'BuilderStatus.IDLE' });
    const v = await startTestBuilder({ builderVersion: '254-buildbox' });
    try {
      expect(await v.call('status')).toEqual({ builder_status: 'BuilderStatus.IDLE', builder_version: '254-buildbox' });
    } finally {
      await v.close();
    }
  });

  it('§11.11 abort() while IDLE is Fault 8002 and leaves the builder IDLE', async () => {
    await expectFault(t.call('abort'), 8002);
    expect((await t.call('status')).builder_status).toBe('BuilderStatus.IDLE');
  });

  it('§11.12 clean() while IDLE is Fault 8002', async () => {
    await expectFault(t.call('clean'), 8002);
  });

  it('§11.13 proxy_info() while IDLE is Fault 8002', async () => {
    await expectFault(t.call('proxy_info'), 8002);
  });
});
