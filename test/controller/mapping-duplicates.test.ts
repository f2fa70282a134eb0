// Concurrent requests for the same (suite, arch) or (build environment, suite-arch) mapping, or
// the same blacklist rule, on
// SQLite and PostgreSQL: exactly one creates the row, every other one gets the 409 a sequential
// duplicate gets, and concurrent requests for different pairs all succeed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/db';
import { startTestController, type Res, type TestController } from '../helpers/controller';

const N = 20;

describe.each(DIALECTS)('duplicate mappings under concurrency ($name)', ({ make }) => {
  let t: TestController;
  beforeEach(async () => {
    t = await startTestController(make);
  });
  afterEach(async () => {
    await t?.close();
  });

  async function ids() {
    for (const name of ['i386', 'armel', 'amd64', 'arm64']) expect((await t.put('/arch', { name })).status).toBe(200);
    expect((await t.put('/suite', { name: 'development' })).status).toBe(200);
    expect((await t.put('/env', { name: 'bookworm' })).status).toBe(200);
    return {
      suite: await t.idOf('suite', 'development'),
      env: await t.idOf('buildenv', 'bookworm'),
      arches: await Promise.all(['i386', 'armel', 'amd64', 'arm64'].map((a) => t.idOf('arch', a))),
    };
  }

  /** Exactly one 200; the others are the sequential duplicate's 409 with its message. */
  function oneCreated(rs: Res[], message: RegExp) {
    const statuses = rs.map((r) => r.status).sort();
    expect(statuses, rs.map((r) => `${r.status} ${r.text}`).join('\n')).toEqual([200, ...Array<number>(rs.length - 1).fill(409)]);
    for (const r of rs.filter((x) => x.status === 409)) expect(r.text).toMatch(message);
  }

  it(`${N} parallel PUT/POST /suitearch of one pair create one row`, async () => {
    const { suite, arches } = await ids();
    const arch = arches[0]!;
    const rs = await Promise.all(
      Array.from({ length: N }, (_, i) => (i % 2 ? t.post : t.put)('/suitearch', { suite_id: suite, arch_id: arch, master_weight: i })),
    );
    oneCreated(rs, new RegExp(`suite ${suite} is already mapped to arch ${arch} \\(suitearch \\d+\\)`));
    expect(await t.count('suitearches')).toBe(1);
    // The same answer as a duplicate made afterwards.
    const late = await t.put('/suitearch', { suite_id: suite, arch_id: arch });
    expect(late.status).toBe(409);
    expect(late.text).toMatch(/already mapped/);
  });

  it('parallel PUT /suitearch of different pairs all succeed, each pair once', async () => {
    const { suite, arches } = await ids();
    const rs = await Promise.all(arches.flatMap((arch) => Array.from({ length: 5 }, () => t.put('/suitearch', { suite_id: suite, arch_id: arch }))));
    expect(rs.filter((r) => r.status === 200).length).toBe(arches.length);
    expect(rs.filter((r) => r.status === 409).length).toBe(arches.length * 4);
    const rows = await t.kysely.selectFrom('suitearches').select(['suite_id', 'arch_id']).orderBy('arch_id').execute();
    expect(rows).toEqual([...arches].sort((a, b) => a - b).map((arch_id) => ({ suite_id: suite, arch_id })));
  });

  it(`${N} parallel PUT/POST /buildenv_suitearch of one pair create one row`, async () => {
    const { suite, env, arches } = await ids();
    expect((await t.put('/suitearch', { suite_id: suite, arch_id: arches[0]! })).status).toBe(200);
    const sa = (await t.kysely.selectFrom('suitearches').select('id').executeTakeFirstOrThrow()).id;
    const rs = await Promise.all(Array.from({ length: N }, (_, i) => (i % 2 ? t.post : t.put)('/buildenv_suitearch', { buildenv_id: env, suitearch_id: sa })));
    oneCreated(rs, new RegExp(`build environment ${env} is already mapped to suitearch ${sa}`));
    expect(await t.count('buildenvsuitearch')).toBe(1);
  });

  it(`${N} parallel PUT/POST /blacklist of one rule create one rule; other rules still go in`, async () => {
    const rs = await Promise.all(Array.from({ length: N }, (_, i) => (i % 2 ? t.post : t.put)('/blacklist', { field: 'name', regex: '(.*-dev)' })));
    oneCreated(rs, /blacklist rule \d+ already has field 'name' and regex '\(\.\*-dev\)'/);
    expect(await t.count('blacklist')).toBe(1);
    // The same regex on the other field, and another regex on the same field, are other rules.
    expect((await t.put('/blacklist', { field: 'vcs_uri', regex: '(.*-dev)' })).status).toBe(200);
    expect((await t.put('/blacklist', { field: 'name', regex: '(.*-doc)' })).status).toBe(200);
    expect(await t.count('blacklist')).toBe(3);
  });
});
