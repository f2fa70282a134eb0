// pyBit lookup tables and auth over real HTTP (spec/pybit.md §3.1, §3.2, checklist §10.1–§10.9, §10.13).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/db';
import { startTestController, type Res, type TestController } from '../helpers/controller';

const LOOKUPS = [
  { prefix: '/arch', table: 'arch', cls: 'Arch' },
  { prefix: '/dist', table: 'distribution', cls: 'Dist' },
  { prefix: '/format', table: 'format', cls: 'Format' },
  { prefix: '/status', table: 'status', cls: 'Status' },
  { prefix: '/suite', table: 'suite', cls: 'Suite' },
  { prefix: '/env', table: 'buildenv', cls: 'BuildEnv' },
] as const;

function expectJson(r: Res): void {
  expect(r.headers.get('content-type')).toBe('application/json');
  expect(r.headers.get('access-control-allow-origin')).toBe('*');
}

describe.each(DIALECTS)('pyBit lookups ($name)', ({ make }) => {
  let t: TestController;
  beforeEach(async () => {
    t = await startTestController(make);
  });
  afterEach(async () => {
    await t?.close();
  });

  it('§10.1 PUT /arch with auth creates the arch; GET /arch lists tagged objects ordered by name', async () => {
    for (const name of ['test', 'amd64', 'zz-arch']) {
      const r = await t.put('/arch', { name });
      expect(r.status).toBe(200);
      expect(r.text).toBe('');
    }
    const r = await t.get('/arch');
    expect(r.status).toBe(200);
    expectJson(r);
    const list = r.json<Array<Record<string, unknown>>>();
    expect(list.map((a) => a.name)).toEqual(['amd64', 'test', 'zz-arch']);
    const test = list.find((a) => a.name === 'test')!;
    expect(Object.keys(test)).toEqual(['py/object', 'id', 'name']);
    expect(test).toEqual({ 'py/object': 'pybit.models.Arch', id: await t.idOf('arch', 'test'), name: 'test' });
  });

  it('§10.2 writes without or with wrong credentials get 401, the PyBit realm and "401 - Unauthorized"', async () => {
    const cases: Array<Parameters<TestController['put']>[2]> = [
      false,
      { user: 'admin', password: 'wrong' },
      { user: 'nobody', password: 'pass' },
      { header: 'Basic !!!notbase64' },
      { header: 'Basic ' + Buffer.from('no-colon').toString('base64') },
      { header: 'Bearer bbx_not_a_token' },
      { header: 'Digest abc' },
    ];
    for (const auth of cases) {
      const r = await t.put('/arch', { name: 'test' }, auth);
      expect(r.status, JSON.stringify(auth)).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="PyBit"');
      expect(r.text).toBe('401 - Unauthorized');
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
    }
    expect(await t.count('arch')).toBe(0);
    // reads are public
    expect((await t.get('/arch')).status).toBe(200);
  });

  it('§10.3 POST /arch behaves like PUT /arch, and /arch/ like /arch', async () => {
    expect((await t.post('/arch', { name: 'one' })).status).toBe(200);
    expect((await t.put('/arch/', { name: 'two' })).status).toBe(200);
    expect((await t.post('/arch/', { name: 'three' })).status).toBe(200);
    expect((await t.post('/arch', { name: 'four' }, false)).status).toBe(401);
    const a = await t.get('/arch');
    const b = await t.get('/arch/');
    expect(b.status).toBe(200);
    expectJson(b);
    expect(b.text).toBe(a.text);
    expect(a.json<Array<{ name: string }>>().map((x) => x.name)).toEqual(['one', 'three', 'two']);
  });

  it('§10.4 PUT /arch without a name (or an empty one) is 400 and creates nothing', async () => {
    for (const form of [{}, { name: '' }, { nom: 'x' }] as Array<Record<string, string>>) {
      const r = await t.put('/arch', form);
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/name/);
    }
    expect(await t.count('arch')).toBe(0);
  });

  it('§10.5 a duplicate name fails and creates no second row', async () => {
    expect((await t.put('/arch', { name: 'dup' })).status).toBe(200);
    const r = await t.put('/arch', { name: 'dup' });
    expect(r.status).toBe(409);
    expect(r.text).toMatch(/dup/);
    expect(await t.count('arch')).toBe(1);
  });

  it('§10.6 /arch/page/N holds at most 5 items; /arch/count is ceil(n/5) as a float', async () => {
    expect((await t.get('/arch/count')).text).toBe('1.0');
    const c0 = await t.get('/arch/count');
    expectJson(c0);
    expect(c0.json()).toBe(1);
    const names = Array.from({ length: 12 }, (_, i) => `a${String(i).padStart(2, '0')}`);
    for (const name of names) expect((await t.put('/arch', { name })).status).toBe(200);
    const p1 = (await t.get('/arch/page/1')).json<Array<{ name: string }>>();
    const p2 = (await t.get('/arch/page/2')).json<Array<{ name: string }>>();
    const p3 = (await t.get('/arch/page/3')).json<Array<{ name: string }>>();
    const p4 = (await t.get('/arch/page/4')).json<Array<{ name: string }>>();
    expect(p1.map((a) => a.name)).toEqual(names.slice(0, 5));
    expect(p2.map((a) => a.name)).toEqual(names.slice(5, 10));
    expect(p3.map((a) => a.name)).toEqual(names.slice(10));
    expect(p4).toEqual([]);
    const c = await t.get('/arch/count');
    expect(c.text).toBe('3.0');
    expect(c.json()).toBe(3);
    for (const name of ['a12', 'a13', 'a14']) await t.put('/arch', { name });
    expect((await t.get('/arch/count')).text).toBe('3.0'); // 15 rows: exactly 3 pages
    expect((await t.get('/arch/page/0')).status).toBe(400);
  });

  it('§10.7 GET /arch/<id> returns the object; an unknown id is 404 (intent)', async () => {
    await t.put('/arch', { name: 'i386' });
    const id = await t.idOf('arch', 'i386');
    const r = await t.get(`/arch/${id}`);
    expect(r.status).toBe(200);
    expectJson(r);
    expect(r.json()).toEqual({ 'py/object': 'pybit.models.Arch', id, name: 'i386' });
    const missing = await t.get(`/arch/${id + 1000}`);
    expect(missing.status).toBe(404);
    expect(missing.text).toMatch(/^404/);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('§10.8 GET /arch/<id>/delete and DELETE /arch/<id> need auth, delete, and answer 409 while referenced', async () => {
    for (const name of ['a1', 'a2', 'a3']) await t.put('/arch', { name });
    const [a1, a2, a3] = [await t.idOf('arch', 'a1'), await t.idOf('arch', 'a2'), await t.idOf('arch', 'a3')];
    expect((await t.get(`/arch/${a1}/delete`)).status).toBe(401);
    expect((await t.req('DELETE', `/arch/${a1}`)).status).toBe(401);
    expect(await t.count('arch')).toBe(3);

    const g = await t.get(`/arch/${a1}/delete`, { auth: true });
    expect(g.status).toBe(200);
    expect(g.text).toBe('200 DELETE OK');
    const d = await t.req('DELETE', `/arch/${a2}`, { auth: true });
    expect(d.status).toBe(200);
    expect(d.text).toBe('200 DELETE OK');
    expect((await t.get(`/arch/${a2}`)).status).toBe(404);
    // unknown id: 404 (intent)
    const again = await t.req('DELETE', `/arch/${a2}`, { auth: true });
    expect(again.status).toBe(404);
    expect(again.text).toMatch(/^404/);

    // referenced by a suitearch → 409, row kept
    await t.put('/suite', { name: 'dev' });
    expect((await t.put('/suitearch', { suite_id: await t.idOf('suite', 'dev'), arch_id: a3 })).status).toBe(200);
    const refused = await t.get(`/arch/${a3}/delete`, { auth: true });
    expect(refused.status).toBe(409);
    expect(refused.text).toMatch(/^409/);
    const refused2 = await t.req('DELETE', `/arch/${a3}`, { auth: true });
    expect(refused2.status).toBe(409);
    expect(await t.idOf('arch', 'a3')).toBe(a3);

    // referenced by a packageinstance (and not by a suitearch) → 409 too
    await t.put('/arch', { name: 'a4' });
    const a4 = await t.idOf('arch', 'a4');
    await t.put('/package', { name: 'hello', version: '1.0-1' });
    const pi = await t.put('/packageinstance', {
      package: 'hello',
      version: '1.0-1',
      arch_id: a4,
      suite_id: await t.idOf('suite', 'dev'),
      dist_id: await t.idOf('distribution', 'Debian'),
      format_id: await t.idOf('format', 'deb'),
      build_env_id: '',
    });
    expect(pi.status).toBe(200);
    const r4 = await t.req('DELETE', `/arch/${a4}`, { auth: true });
    expect(r4.status).toBe(409);
    expect(r4.text).toMatch(/^409/);
    expect(await t.count('arch')).toBe(2);
  });

  describe.each(LOOKUPS)('§10.9 $prefix', ({ prefix, table, cls }) => {
    it(`§10.9 ${prefix} supports list/page/count/get/create/delete like /arch`, async () => {
      const before = await t.count(table);
      const names = Array.from({ length: 7 }, (_, i) => `n${i}-${table}`);
      for (const name of names) {
        expect((await t.put(prefix, { name }, false)).status).toBe(401);
        const r = await t[name.endsWith('0-' + table) ? 'post' : 'put'](prefix, { name });
        expect(r.status, `${prefix} ${name}: ${r.text}`).toBe(200);
        expect(r.text).toBe('');
      }
      expect((await t.put(prefix, {})).status).toBe(400);
      const total = before + names.length;
      expect(await t.count(table)).toBe(total);

      const list = await t.get(prefix);
      expectJson(list);
      const items = list.json<Array<{ 'py/object': string; id: number; name: string }>>();
      expect(items.length).toBe(total);
      expect(items.every((i) => i['py/object'] === `pybit.models.${cls}`)).toBe(true);
      const sorted = [...items.map((i) => i.name)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      expect(items.map((i) => i.name)).toEqual(sorted);
      expect((await t.get(`${prefix}/`)).text).toBe(list.text);

      const p1 = (await t.get(`${prefix}/page/1`)).json<unknown[]>();
      expect(p1.length).toBe(Math.min(5, total));
      const p2 = (await t.get(`${prefix}/page/2`)).json<unknown[]>();
      expect(p2.length).toBe(Math.min(5, total - 5));
      const count = await t.get(`${prefix}/count`);
      expectJson(count);
      expect(count.text).toBe(`${Math.ceil(total / 5)}.0`);

      const id = await t.idOf(table, names[3]!);
      const one = await t.get(`${prefix}/${id}`);
      expectJson(one);
      expect(one.json()).toEqual({ 'py/object': `pybit.models.${cls}`, id, name: names[3] });
      expect((await t.get(`${prefix}/${id + 10_000}`)).status).toBe(404);

      expect((await t.get(`${prefix}/${id}/delete`)).status).toBe(401);
      const del = await t.get(`${prefix}/${id}/delete`, { auth: true });
      expect(del.status).toBe(200);
      expect(del.text).toBe('200 DELETE OK');
      const id2 = await t.idOf(table, names[4]!);
      const del2 = await t.req('DELETE', `${prefix}/${id2}`, { auth: true });
      expect(del2.status).toBe(200);
      expect(del2.text).toBe('200 DELETE OK');
      expect(await t.count(table)).toBe(total - 2);
      expect((await t.get(`${prefix}/${id}`)).status).toBe(404);
      expect((await t.req('DELETE', `${prefix}/${id}`, { auth: true })).status).toBe(404);
    });
  });

  it('§10.9 duplicate names: refused for arch/dist/format/status/suite, allowed for /env (pyBit has no unique env name)', async () => {
    for (const { prefix, table } of LOOKUPS) {
      expect((await t.put(prefix, { name: 'twice' })).status).toBe(200);
      const again = await t.put(prefix, { name: 'twice' });
      const rows = await t.kysely.selectFrom(table).select('id').where('name', '=', 'twice').execute();
      if (table === 'buildenv') {
        expect(again.status).toBe(200);
        expect(rows.length).toBe(2);
      } else {
        expect(again.status, prefix).toBe(409);
        expect(rows.length).toBe(1);
      }
    }
  });

  it('§10.9 names are stored exactly as given (no HTML escaping, intent)', async () => {
    const name = 'a<b>&"c\' é';
    expect((await t.put('/suite', { name })).status).toBe(200);
    const list = (await t.get('/suite')).json<Array<{ name: string }>>();
    expect(list.map((s) => s.name)).toContain(name);
    const id = await t.idOf('suite', name);
    expect((await t.get(`/suite/${id}`)).json<{ name: string }>().name).toBe(name);
  });

  it('§10.13 every response carries Access-Control-Allow-Origin: *, errors included', async () => {
    await t.put('/arch', { name: 'x' });
    const probes: Array<Promise<Res>> = [
      t.get('/arch'),
      t.get('/arch/count'),
      t.get('/arch/999999'),
      t.get('/arch/notanumber'),
      t.get('/no/such/route'),
      t.put('/arch', { name: 'x' }),
      t.put('/arch', {}),
      t.put('/arch', { name: 'y' }, false),
      t.req('DELETE', '/arch/424242', { auth: true }),
      t.req('OPTIONS', '/arch'),
      t.get('/job'),
      t.get('/job/999/status'),
      t.req('PUT', '/job/vcshook', { raw: '{bad', contentType: 'application/json', auth: true }),
      t.get('/buildd/build_client_nobody/status'),
    ];
    for (const r of await Promise.all(probes)) {
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      const methods = (r.headers.get('access-control-allow-methods') ?? '').split(/,\s*/);
      for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS']) expect(methods).toContain(m);
      expect(r.status).toBeLessThan(500);
    }
  });
});
