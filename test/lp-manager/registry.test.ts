// /api/v1/builders and /api/v1/chroots: create, read, update, delete, and the 4xx answers that
// name what is wrong. The scanner is off (interval 0): these builders are never contacted.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/db';
import { getBytes, HOST_ARCH, startFarm, type Farm } from './helpers';

let farm: Farm | null = null;
afterEach(async () => {
  await farm?.close();
  farm = null;
});

describe.each(DIALECTS)('builders registry ($name)', ({ make }) => {
  it('registers, lists, toggles and deletes builders', async () => {
    farm = await startFarm(make, { scanIntervalMs: 0 });
    const created = await farm.addBuilder('bob', 'http://127.0.0.1:9/rpc/', { virtualised: true });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({
      name: 'bob',
      url: 'http://127.0.0.1:9',
      arch: HOST_ARCH,
      virtualised: true,
      manual: false,
      enabled: true,
      failureCount: 0,
      failureNotes: null,
      cleanStatus: 'DIRTY',
      lastStatus: null,
      version: null,
      currentJob: null,
    });
    expect((await farm.addBuilder('alice', 'http://127.0.0.1:10')).status).toBe(201);
    const list = (await farm.req('GET', '/api/v1/builders')).json<any[]>();
    expect(list.map((b) => b.name)).toEqual(['alice', 'bob']);

    let r = await farm.req('PATCH', '/api/v1/builders/bob', { json: { manual: true }, auth: true });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ manual: true, enabled: true });
    r = await farm.req('PATCH', '/api/v1/builders/bob', { json: { enabled: false, failureNotes: 'disk full' }, auth: true });
    expect(r.json()).toMatchObject({ enabled: false, failureNotes: 'disk full' });
    // Failures recorded meanwhile are forgotten when the builder is enabled again.
    await farm.c.ctx.db.kysely.updateTable('builders').set({ failure_count: 4 }).where('name', '=', 'bob').execute();
    r = await farm.req('PATCH', '/api/v1/builders/bob', { json: { enabled: true }, auth: true });
    expect(r.json()).toMatchObject({ enabled: true, failureCount: 0, failureNotes: null, cleanStatus: 'DIRTY' });

    expect((await farm.req('DELETE', '/api/v1/builders/bob', { auth: true })).status).toBe(204);
    expect((await farm.req('GET', '/api/v1/builders/bob')).status).toBe(404);
    expect((await farm.req('GET', '/api/v1/builders')).json<any[]>().map((b) => b.name)).toEqual(['alice']);
  });

  it('refuses bad input with a message naming the field, and writes without credentials', async () => {
    farm = await startFarm(make, { scanIntervalMs: 0 });
    const post = (json: unknown, auth = true) => farm!.req('POST', '/api/v1/builders', { json, auth });
    const bad = async (json: unknown, status: number, text: RegExp) => {
      const r = await post(json);
      expect(r.status, r.text).toBe(status);
      expect(r.json().error).toMatch(text);
    };
    await bad({ url: 'http://x:1', arch: HOST_ARCH }, 400, /'name'/);
    await bad({ name: 'a b', url: 'http://x:1', arch: HOST_ARCH }, 400, /'name'/);
    await bad({ name: 'b1', url: 'ftp://x/', arch: HOST_ARCH }, 400, /'url'/);
    await bad({ name: 'b1', url: 'http://u:p@x/', arch: HOST_ARCH }, 400, /'url'/);
    await bad({ name: 'b1', url: 'http://x:1', arch: 'AMD 64' }, 400, /'arch'/);
    await bad({ name: 'b1', url: 'http://x:1', arch: HOST_ARCH, manual: 'yes' }, 400, /'manual'/);
    await bad({ name: 'b1', url: 'http://x:1', arch: HOST_ARCH, colour: 'red' }, 400, /colour/);
    expect((await post({ name: 'b1', url: 'http://x:1', arch: HOST_ARCH }, false)).status).toBe(401);
    expect(await farm.c.ctx.db.kysely.selectFrom('builders').selectAll().execute()).toEqual([]);

    expect((await post({ name: 'b1', url: 'http://x:1', arch: HOST_ARCH })).status).toBe(201);
    await bad({ name: 'b1', url: 'http://x:2', arch: HOST_ARCH }, 409, /b1/);
    const patch = (name: string, json: unknown) => farm!.req('PATCH', `/api/v1/builders/${name}`, { json, auth: true });
    let r = await patch('b1', {});
    expect(r.status).toBe(400);
    r = await patch('b1', { enabled: 'no' });
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/'enabled'/);
    expect((await patch('nobody', { manual: true })).status).toBe(404);
    expect((await farm.req('PATCH', '/api/v1/builders/b1', { json: { manual: true } })).status).toBe(401);
    expect((await farm.req('DELETE', '/api/v1/builders/nobody', { auth: true })).status).toBe(404);
    expect((await farm.req('DELETE', '/api/v1/builders/b1')).status).toBe(401);
  });

  it('registers chroots by upload or by the SHA-1 of a librarian file, lists and deletes them', async () => {
    farm = await startFarm(make, { scanIntervalMs: 0 });
    const up = await farm.addChroot();
    expect(up.status, up.text).toBe(201);
    const content = 'not really a chroot tarball';
    const sha1 = createHash('sha1').update(content).digest('hex');
    expect(up.json()).toMatchObject({ suite: farm.suite, arch: HOST_ARCH, environment: null, sha1, name: 'chroot.tar', size: content.length });
    const got = await getBytes(up.json().url);
    expect(got.body.toString()).toBe(content);

    // The same target again replaces it; by SHA-1 of a stored file.
    const r = await farm.req('POST', '/api/v1/chroots', { json: { suite: farm.suite, arch: HOST_ARCH, sha1, name: 'other.tar' }, auth: true });
    expect(r.status, r.text).toBe(201);
    let list = (await farm.req('GET', '/api/v1/chroots')).json<any[]>();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'other.tar', sha1 });

    const bad = async (json: unknown, text: RegExp) => {
      const res = await farm!.req('POST', '/api/v1/chroots', { json, auth: true });
      expect(res.status, res.text).toBe(400);
      expect(res.json().error).toMatch(text);
    };
    await bad({ suite: 'no-such-suite', arch: HOST_ARCH, sha1 }, /suite/);
    await bad({ suite: farm.suite, arch: 'no-such-arch', sha1 }, /arch/);
    await bad({ suite: farm.suite, arch: HOST_ARCH, sha1: 'f'.repeat(40) }, /sha1/);
    await bad({ suite: farm.suite, arch: HOST_ARCH, sha1: 'xyz' }, /sha1/);
    await bad({ suite: farm.suite, arch: HOST_ARCH, environment: 'nope', sha1 }, /environment/);
    const noTarget = await farm.postFiles('/api/v1/chroots', { 'c.tar': 'x' }, { arch: HOST_ARCH });
    expect(noTarget.status).toBe(400);
    expect(noTarget.json().error).toMatch(/suite/);

    expect((await farm.req('DELETE', `/api/v1/chroots/${list[0].id}`, { auth: true })).status).toBe(204);
    expect((await farm.req('DELETE', `/api/v1/chroots/${list[0].id}`, { auth: true })).status).toBe(404);
    list = (await farm.req('GET', '/api/v1/chroots')).json<any[]>();
    expect(list).toEqual([]);
  });
});
