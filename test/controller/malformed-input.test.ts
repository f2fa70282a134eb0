// Generated bad requests against every pyBit route: each must be answered with a 4xx and a
// message (never a 5xx), and no table may change (nothing half-written).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/db';
import { hookForm, request, startTestController, type ReqOpts, type Res, type TestController } from '../helpers/controller';

interface Case {
  name: string;
  method: string;
  path: string;
  opts?: ReqOpts;
  /** Expected status, when it matters more than "some 4xx". */
  status?: number;
  /** Text the message must contain (usually the field's name). */
  mentions?: string;
}

const LOOKUP_PREFIXES = ['/arch', '/dist', '/format', '/status', '/suite', '/env'];
const ID_ROUTES = ['/arch', '/dist', '/format', '/status', '/suite', '/env', '/suitearch', '/buildenv_suitearch', '/blacklist', '/job', '/package', '/packageinstance', '/buildd'];
// 2147483648 and up do not fit PostgreSQL's integer ids: still a 4xx, never a database error
const BAD_IDS = ['abc', '-1', '1.5', '0x10', '99999999999999999999', '%20', '1e3', '2147483648', '999999999999999'];

interface Ids {
  arch: number;
  suite: number;
  dist: number;
  format: number;
  env: number;
  sa: number;
  job: number;
  pkg: number;
  pi: number;
}

function cases(ids: Ids): Case[] {
  const out: Case[] = [];
  const auth = true;
  const form = (method: string, path: string, f: Record<string, string | number>, extra: Partial<Case> = {}) =>
    out.push({ name: `${method} ${path} ${JSON.stringify(f).slice(0, 80)}`, method, path, opts: { form: f, auth }, ...extra });

  // ---- lookups
  for (const p of LOOKUP_PREFIXES) {
    form('PUT', p, {}, { status: 400, mentions: 'name' });
    form('POST', p, { name: '' }, { status: 400, mentions: 'name' });
    form('PUT', p, { name: 'x'.repeat(5000) }, { status: 400, mentions: 'name' });
    form('PUT', p, { name: 'bad\nname' }, { status: 400, mentions: 'name' });
    out.push({ name: `${p} bad JSON`, method: 'PUT', path: p, opts: { raw: '{"name": ', contentType: 'application/json', auth }, status: 400 });
    out.push({ name: `${p} JSON object name`, method: 'PUT', path: p, opts: { json: { name: { nested: 1 } }, auth }, status: 400, mentions: 'name' });
    // text/plain is read as a bare string, which has no form fields
    out.push({ name: `${p} text/plain`, method: 'PUT', path: p, opts: { raw: 'name=x', contentType: 'text/plain', auth }, status: 400, mentions: 'name' });
    out.push({ name: `${p} octet-stream`, method: 'PUT', path: p, opts: { raw: 'name=x', contentType: 'application/octet-stream', auth }, status: 415 });
    out.push({ name: `${p} page 0`, method: 'GET', path: `${p}/page/0`, status: 400, mentions: 'page' });
    out.push({ name: `${p} page x`, method: 'GET', path: `${p}/page/x`, status: 400, mentions: 'page' });
  }
  form('PUT', '/arch', { name: 'i386' }, { status: 409, mentions: 'i386' });
  form('PUT', '/suite', { name: 'development' }, { status: 409 });
  form('PUT', '/status', { name: 'Waiting' }, { status: 409 });

  // ---- ids that are not ids, and ids that do not exist
  for (const r of ID_ROUTES) {
    for (const bad of BAD_IDS) out.push({ name: `GET ${r}/${bad}`, method: 'GET', path: `${r}/${bad}` });
    out.push({ name: `GET ${r}/<unknown>`, method: 'GET', path: `${r}/987654`, status: 404 });
    out.push({ name: `DELETE ${r}/<unknown>`, method: 'DELETE', path: `${r}/987654`, opts: { auth }, status: 404 });
    out.push({ name: `GET ${r}/abc/delete`, method: 'GET', path: `${r}/abc/delete`, opts: { auth }, status: 400 });
  }
  // referenced rows cannot be deleted
  out.push({ name: 'delete referenced arch', method: 'DELETE', path: `/arch/${ids.arch}`, opts: { auth }, status: 409 });
  out.push({ name: 'delete referenced suite', method: 'GET', path: `/suite/${ids.suite}/delete`, opts: { auth }, status: 409 });
  out.push({ name: 'delete referenced dist', method: 'DELETE', path: `/dist/${ids.dist}`, opts: { auth }, status: 409 });
  out.push({ name: 'delete referenced suitearch', method: 'DELETE', path: `/suitearch/${ids.sa}`, opts: { auth }, status: 409 });
  out.push({ name: 'delete referenced package', method: 'DELETE', path: `/package/${ids.pkg}`, opts: { auth }, status: 409 });
  out.push({ name: 'delete referenced packageinstance', method: 'DELETE', path: `/packageinstance/${ids.pi}`, opts: { auth }, status: 409 });
  out.push({ name: 'delete referenced status', method: 'DELETE', path: `/status/1`, opts: { auth }, status: 409 });

  // ---- suitearch / buildenv_suitearch / blacklist
  form('PUT', '/suitearch', {}, { status: 400, mentions: 'suite_id' });
  form('PUT', '/suitearch', { suite_id: ids.suite }, { status: 400, mentions: 'arch_id' });
  form('PUT', '/suitearch', { suite_id: 'dev', arch_id: ids.arch }, { status: 400, mentions: 'suite_id' });
  form('PUT', '/suitearch', { suite_id: ids.suite, arch_id: '1; DROP TABLE arch' }, { status: 400, mentions: 'arch_id' });
  form('PUT', '/suitearch', { suite_id: 424242, arch_id: ids.arch }, { status: 400, mentions: 'suite_id' });
  form('PUT', '/suitearch', { suite_id: ids.suite, arch_id: 424242 }, { status: 400, mentions: 'arch_id' });
  form('PUT', '/suitearch', { suite_id: ids.suite, arch_id: ids.arch, master_weight: 'heavy' }, { status: 400, mentions: 'master_weight' });
  form('PUT', '/suitearch', { suite_id: ids.suite, arch_id: ids.arch, master_weight: '1.5' }, { status: 400, mentions: 'master_weight' });
  form('PUT', '/suitearch', { suite_id: ids.suite, arch_id: ids.arch, master_weight: '9'.repeat(30) }, { status: 400, mentions: 'master_weight' });
  form('PUT', '/suitearch', { suite_id: ids.suite, arch_id: ids.arch, master_weight: 3 }, { status: 409 });
  form('PUT', '/suitearch', { suite_id: '2147483648', arch_id: ids.arch }, { mentions: 'suite_id' });
  form('PUT', '/suitearch', { suite_id: ids.suite, arch_id: '999999999999999' }, { mentions: 'arch_id' });
  form('PUT', '/suitearch', { suite_id: ids.suite, arch_id: ids.arch, master_weight: '99999999999' }, { status: 400, mentions: 'master_weight' });
  form('PUT', '/suitearch', { suite_id: ids.suite, arch_id: ids.arch, master_weight: '-99999999999' }, { status: 400, mentions: 'master_weight' });
  form('PUT', '/buildenv_suitearch', { buildenv_id: '4294967296', suitearch_id: ids.sa }, { mentions: 'buildenv_id' });
  form('POST', '/job', { packageinstance_id: '2147483648', method: 'svn', uri: 'x' });
  form('PUT', '/packageinstance', { package: 'hello', version: '1.0-1', arch_id: '2147483648', suite_id: ids.suite, dist_id: ids.dist, format_id: ids.format });
  form('PUT', '/packageinstance', { package: 'hello', version: '1.0-1', arch_id: ids.arch, suite_id: ids.suite, dist_id: ids.dist, format_id: ids.format, build_env_id: '2147483648' });
  out.push({ name: 'buildd jobs huge id', method: 'GET', path: '/buildd/2147483648/jobs' });
  out.push({ name: 'togglemaster huge id', method: 'GET', path: '/packageinstance/2147483648/togglemaster/1', opts: { auth } });
  out.push({ name: 'cancel huge id', method: 'GET', path: '/job/2147483648/cancel', opts: { auth } });
  out.push({ name: 'retry huge id', method: 'GET', path: '/job/2147483648/retry', opts: { auth } });
  out.push({ name: 'status report huge id', method: 'PUT', path: '/job/2147483648', opts: { form: { status: 'Done' }, auth } });
  out.push({ name: 'package cancel huge id', method: 'GET', path: '/package/2147483648/cancel', opts: { auth } });
  out.push({ name: 'package active huge id', method: 'GET', path: '/package/2147483648/active' });
  out.push({ name: 'job history huge id', method: 'GET', path: '/job/2147483648/status' });
  form('PUT', '/buildenv_suitearch', {}, { status: 400, mentions: 'buildenv_id' });
  form('PUT', '/buildenv_suitearch', { buildenv_id: ids.env }, { status: 400, mentions: 'suitearch_id' });
  form('PUT', '/buildenv_suitearch', { buildenv_id: 'squeeze', suitearch_id: ids.sa }, { status: 400, mentions: 'buildenv_id' });
  form('PUT', '/buildenv_suitearch', { buildenv_id: 424242, suitearch_id: ids.sa }, { status: 400, mentions: 'buildenv_id' });
  form('PUT', '/buildenv_suitearch', { buildenv_id: ids.env, suitearch_id: 424242 }, { status: 400, mentions: 'suitearch_id' });
  form('PUT', '/blacklist', {}, { status: 400, mentions: 'field' });
  form('PUT', '/blacklist', { field: 'name' }, { status: 400, mentions: 'regex' });
  form('PUT', '/blacklist', { field: 'version', regex: 'x' }, { status: 400, mentions: 'field' });
  form('PUT', '/blacklist', { field: 'name', regex: '(' }, { status: 400, mentions: 'regex' });
  form('PUT', '/blacklist', { field: 'name', regex: '[z-a]' }, { status: 400, mentions: 'regex' });
  form('PUT', '/blacklist', { field: 'name', regex: 'x'.repeat(5000) }, { status: 400, mentions: 'regex' });

  // ---- vcshook
  out.push({ name: 'vcshook empty', method: 'POST', path: '/job/vcshook', opts: { form: {}, auth }, status: 400 });
  out.push({ name: 'vcshook no body', method: 'POST', path: '/job/vcshook', opts: { auth }, status: 400 });
  out.push({ name: 'vcshook bad JSON', method: 'POST', path: '/job/vcshook', opts: { raw: '{"package":', contentType: 'application/json', auth }, status: 400 });
  out.push({ name: 'vcshook JSON array', method: 'POST', path: '/job/vcshook', opts: { json: [hookForm()], auth }, status: 400 });
  out.push({ name: 'vcshook xml', method: 'POST', path: '/job/vcshook', opts: { raw: '<package>hello</package>', contentType: 'application/xml', auth }, status: 415 });
  out.push({ name: 'vcshook unauthenticated', method: 'POST', path: '/job/vcshook', opts: { form: hookForm() }, status: 401 });
  out.push({ name: 'vcshook wrong password', method: 'POST', path: '/job/vcshook', opts: { form: hookForm(), auth: { user: 'admin', password: 'nope' } }, status: 401 });
  for (const key of ['package', 'package_version', 'suite', 'distribution', 'format', 'architecture_list', 'method', 'uri']) {
    const f = hookForm();
    delete f[key];
    out.push({ name: `vcshook without ${key}`, method: 'POST', path: '/job/vcshook', opts: { form: f, auth }, status: 400, mentions: key });
    out.push({ name: `vcshook with oversized ${key}`, method: 'POST', path: '/job/vcshook', opts: { form: hookForm({ [key]: 'a'.repeat(20_000) }), auth }, status: 400, mentions: key });
  }
  for (const v of ['', '1.0 1', 'abc', '1.0-', '-1', '1:', ':1.0', '1.0_1', '1.0-1\u0000']) {
    out.push({ name: `vcshook version ${JSON.stringify(v)}`, method: 'POST', path: '/job/vcshook', opts: { form: hookForm({ package_version: v }), auth }, status: 400, mentions: 'package_version' });
  }
  for (const n of ['Hello', 'a', 'foo bar', '../etc', 'foo/bar', '-foo', 'foo_bar']) {
    out.push({ name: `vcshook package ${JSON.stringify(n)}`, method: 'POST', path: '/job/vcshook', opts: { form: hookForm({ package: n }), auth }, status: 400, mentions: 'package' });
  }
  for (const a of ['amd64x', 'any,foo', 'i386;armel', 'linux-', '-any', 'a-b-c-d-any', 'kfreebsd-any', 'sparc']) {
    out.push({ name: `vcshook arches ${JSON.stringify(a)}`, method: 'POST', path: '/job/vcshook', opts: { form: hookForm({ architecture_list: a }), auth }, status: 400, mentions: 'architecture' });
  }
  for (const [k, v] of [
    ['suite', 'nosuch'],
    ['distribution', 'Ubuntu'],
    ['format', 'rpm'],
    ['suite', 'empty'],
  ] as const) {
    out.push({ name: `vcshook unknown ${k} ${v}`, method: 'POST', path: '/job/vcshook', opts: { form: hookForm({ [k]: v }), auth }, status: 400, mentions: v });
  }
  out.push({ name: 'vcshook blacklisted', method: 'POST', path: '/job/vcshook', opts: { form: hookForm({ package: 'blocked-pkg' }), auth }, status: 403 });
  out.push({ name: 'vcshook multipart with a file', method: 'POST', path: '/job/vcshook', opts: { auth }, status: 400 });

  // ---- POST /job, status reports, cancel, retry
  form('POST', '/job', {}, { status: 400, mentions: 'packageinstance_id' });
  form('POST', '/job', { packageinstance_id: 'one', method: 'svn', uri: 'x' }, { status: 400, mentions: 'packageinstance_id' });
  form('POST', '/job', { packageinstance_id: 424242, method: 'svn', uri: 'x' }, { status: 404 });
  form('POST', '/job', { packageinstance_id: ids.pi, uri: 'x' }, { status: 400, mentions: 'method' });
  form('PUT', '/job', { packageinstance_id: ids.pi, method: 'svn' }, { status: 400, mentions: 'uri' });
  form('PUT', `/job/${ids.job}`, {}, { status: 400, mentions: 'status' });
  form('PUT', `/job/${ids.job}`, { status: '' }, { status: 400, mentions: 'status' });
  form('PUT', `/job/${ids.job}`, { status: 'Exploded', client: 'build_client_new' }, { status: 400, mentions: 'Exploded' });
  form('PUT', `/job/${ids.job}`, { status: 'waiting' }, { status: 400 });
  form('PUT', `/job/${ids.job}`, { status: 'Building', client: 'c'.repeat(5000) }, { status: 400, mentions: 'client' });
  form('PUT', `/job/${ids.job}`, { status: 'Building', client: 'tab\tclient' }, { status: 400, mentions: 'client' });
  form('PUT', '/job/424242', { status: 'Building', client: 'build_client_ghost' }, { status: 404 });
  form('POST', '/job/abc', { status: 'Done' }, { status: 400 });
  out.push({ name: 'status unauthenticated', method: 'PUT', path: `/job/${ids.job}`, opts: { form: { status: 'Done' } }, status: 401 });
  out.push({ name: 'cancel unknown', method: 'GET', path: '/job/424242/cancel', opts: { auth }, status: 404 });
  out.push({ name: 'cancel bad id', method: 'GET', path: '/job/x/cancel', opts: { auth }, status: 400 });
  out.push({ name: 'retry unknown', method: 'GET', path: '/job/424242/retry', opts: { auth }, status: 404 });
  out.push({ name: 'retry bad id', method: 'GET', path: '/job/-3/retry', opts: { auth }, status: 400 });
  out.push({ name: 'job status unknown', method: 'GET', path: '/job/424242/status', status: 404 });
  out.push({ name: 'job page 0', method: 'GET', path: '/job/page/0', status: 400 });
  out.push({ name: 'cancelall unauthenticated', method: 'GET', path: '/job/cancelall', status: 401 });
  out.push({ name: 'DELETE /job unauthenticated', method: 'DELETE', path: '/job', status: 401 });

  // ---- packages, instances, build clients
  form('PUT', '/package', { name: 'hello' }, { status: 400, mentions: 'version' });
  form('PUT', '/package', { version: '1.0' }, { status: 400, mentions: 'name' });
  form('PUT', '/package', { name: 'Hello World', version: '1.0' }, { status: 400, mentions: 'name' });
  form('PUT', '/package', { name: 'hello', version: 'not a version' }, { status: 400, mentions: 'version' });
  form('PUT', '/package', { name: 'hello', version: '1.0-1' }, { status: 409 });
  out.push({ name: 'package active unknown', method: 'GET', path: '/package/424242/active', status: 404 });
  out.push({ name: 'package cancel unknown', method: 'GET', path: '/package/424242/cancel', opts: { auth }, status: 404 });
  out.push({ name: 'package details unknown', method: 'GET', path: '/package/details/nosuch', status: 404 });
  out.push({ name: 'package details bad escape', method: 'GET', path: '/package/details/%E0%A4%A', status: 400 });
  const pi = { package: 'hello', version: '1.0-1', arch_id: ids.arch, suite_id: ids.suite, dist_id: ids.dist, format_id: ids.format, build_env_id: '' };
  for (const key of ['package', 'version', 'arch_id', 'suite_id', 'dist_id', 'format_id']) {
    const f: Record<string, string | number> = { ...pi };
    delete f[key];
    form('PUT', '/packageinstance', f, { status: 400, mentions: key });
  }
  form('PUT', '/packageinstance', { ...pi, version: '7.7-7' }, { status: 400, mentions: '7.7-7' });
  form('PUT', '/packageinstance', { ...pi, arch_id: 424242 }, { status: 400, mentions: 'arch_id' });
  form('PUT', '/packageinstance', { ...pi, dist_id: 424242 }, { status: 400, mentions: 'dist_id' });
  form('PUT', '/packageinstance', { ...pi, build_env_id: 424242 }, { status: 400, mentions: 'build_env_id' });
  form('PUT', '/packageinstance', { ...pi, build_env_id: 'wheezy' }, { status: 400, mentions: 'build_env_id' });
  form('PUT', '/packageinstance', { ...pi, format_id: '1 OR 1=1' }, { status: 400, mentions: 'format_id' });
  out.push({ name: 'togglemaster 2', method: 'GET', path: `/packageinstance/${ids.pi}/togglemaster/2`, opts: { auth }, status: 400 });
  out.push({ name: 'togglemaster x', method: 'GET', path: `/packageinstance/${ids.pi}/togglemaster/x`, opts: { auth }, status: 400 });
  out.push({ name: 'togglemaster unknown', method: 'GET', path: '/packageinstance/424242/togglemaster/1', opts: { auth }, status: 404 });
  out.push({ name: 'instance details unknown', method: 'GET', path: '/packageinstance/details/nosuch', status: 404 });
  form('PUT', '/buildd', {}, { status: 400, mentions: 'name' });
  form('PUT', '/buildd', { name: 'build_client_arm02' }, { status: 409 });
  form('PUT', '/buildd', { name: 'b'.repeat(1000) }, { status: 400, mentions: 'name' });
  out.push({ name: 'buildd jobs bad id', method: 'GET', path: '/buildd/abc/jobs', status: 400 });
  out.push({ name: 'buildd jobs unknown', method: 'GET', path: '/buildd/424242/jobs', status: 404 });
  out.push({ name: 'buildd command unauthenticated', method: 'POST', path: '/buildd/1/restart', status: 401 });

  // ---- transport-level
  out.push({ name: 'unknown route', method: 'GET', path: '/nosuchthing', status: 404 });
  out.push({ name: 'unknown method route', method: 'PATCH', path: '/arch', opts: { auth }, status: 404 });
  out.push({ name: 'body over the limit', method: 'PUT', path: '/arch', opts: { raw: 'name=' + 'x'.repeat(11 * 1024 * 1024), contentType: 'application/x-www-form-urlencoded', auth }, status: 413 });
  return out;
}

describe.each(DIALECTS)('malformed input ($name)', ({ make }) => {
  let t: TestController;
  let ids: Ids;

  beforeAll(async () => {
    t = await startTestController(make, { sampleData: true });
    const put = async (path: string, f: Record<string, string | number>) => {
      const r = await t.put(path, f);
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
    };
    await put('/suite', { name: 'empty' });
    await put('/blacklist', { field: 'name', regex: '^blocked-' });
    const r = await t.post('/job/vcshook', hookForm());
    if (r.status !== 200) throw new Error(r.text);
    const job = (await t.get('/job')).json<Array<{ id: number; packageinstance: { id: number; package: { id: number } } }>>()[0]!;
    const suite = await t.idOf('suite', 'development');
    const arch = await t.idOf('arch', 'i386');
    const env = await t.idOf('buildenv', 'wheezy');
    const sa = (await t.kysely.selectFrom('suitearches').select('id').where('suite_id', '=', suite).where('arch_id', '=', arch).executeTakeFirstOrThrow()).id;
    // a mapping that keeps the suitearch referenced (its delete must be refused)
    await put('/buildenv_suitearch', { buildenv_id: await t.idOf('buildenv', 'squeeze'), suitearch_id: sa });
    ids = { arch, suite, dist: await t.idOf('distribution', 'Debian'), format: await t.idOf('format', 'deb'), env, sa, job: job.id, pkg: job.packageinstance.package.id, pi: job.packageinstance.id };
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers at least 100 generated bad requests with a 4xx and a message, and changes no table', async () => {
    const list = cases(ids);
    expect(list.length).toBeGreaterThanOrEqual(100);
    const before = await t.counts();
    const statusesBefore = await t.kysely.selectFrom('job').select(['id', 'status', 'buildclient_id']).orderBy('id').execute();
    const masters = await t.kysely.selectFrom('packageinstance').select(['id', 'master']).orderBy('id').execute();
    const failures: string[] = [];
    const check = (c: Case, r: Res) => {
      const what = `${c.name} → ${r.status} ${r.text.slice(0, 160)}`;
      if (r.status < 400 || r.status >= 500) failures.push(`not a 4xx: ${what}`);
      else if (c.status !== undefined && r.status !== c.status) failures.push(`expected ${c.status}: ${what}`);
      if (r.text.trim().length === 0) failures.push(`no message: ${what}`);
      if (c.mentions && !r.text.includes(c.mentions)) failures.push(`message does not name '${c.mentions}': ${what}`);
      if (r.headers.get('access-control-allow-origin') !== '*') failures.push(`no CORS header: ${what}`);
    };
    for (const c of list) {
      if (c.name === 'vcshook multipart with a file') {
        // a file part where a text field belongs
        const fd = new FormData();
        for (const [k, v] of Object.entries(hookForm())) if (k !== 'package') fd.append(k, v);
        fd.append('package', new Blob(['hello']), 'package.txt');
        const res = await fetch(t.url + c.path, { method: c.method, body: fd, headers: { authorization: `Basic ${Buffer.from('admin:pass').toString('base64')}` } });
        const text = await res.text();
        check(c, { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) });
        continue;
      }
      check(c, await request(t.url, c.method, c.path, c.opts));
    }
    expect(failures).toEqual([]);
    expect(await t.counts()).toEqual(before);
    expect(await t.kysely.selectFrom('job').select(['id', 'status', 'buildclient_id']).orderBy('id').execute()).toEqual(statusesBefore);
    expect(await t.kysely.selectFrom('packageinstance').select(['id', 'master']).orderBy('id').execute()).toEqual(masters);
  });
});
