// A GitHub push touching two packages, on SQLite and PostgreSQL: the packages are queued in one
// transaction, so when the second is refused there (its suite has no architectures yet, found
// only after the first package's rows were written) nothing is queued, no event is sent and the
// delivery is not recorded; the same delivery sent again once the suite is set up queues both.
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, uniqueName } from '../helpers/db';
import { writeSourceTree } from '../fixtures/make-package';
import type { ControllerEvent } from '../../src-main/controller/events';
import { jobsOf, run, startServedHookFarm, type ServedHookFarm } from './helpers';

describe.each(DIALECTS)('webhook push of several packages ($name)', ({ make }) => {
  let farm: ServedHookFarm;

  beforeAll(async () => {
    farm = await startServedHookFarm('bb-whbatch-', make);
  });
  afterAll(() => farm?.close());

  it('queues all packages of a push or none', async () => {
    const t = farm.t;
    // A suite with no architectures mapped yet: packages for it are refused inside the transaction.
    const empty = uniqueName('empty').replace(/_/g, '-');
    expect((await t.put('/suite', { name: empty })).status).toBe(200);

    const wc = join(farm.dir, 'wc');
    mkdirSync(join(wc, 'a'), { recursive: true });
    mkdirSync(join(wc, 'b'), { recursive: true });
    await run('git', ['init', '-q', '-b', 'main'], wc);
    writeSourceTree(join(wc, 'a'), { name: 'bbwb-first', version: '1.0', distribution: farm.suite });
    writeSourceTree(join(wc, 'b'), { name: 'bbwb-second', version: '1.0', distribution: empty });
    writeFileSync(join(wc, 'README'), 'two packages\n');
    await run('git', ['add', '-A'], wc);
    await run('git', ['commit', '-q', '-m', 'two packages'], wc);
    const commit = (await run('git', ['rev-parse', 'HEAD'], wc)).trim();
    const bare = join(farm.dir, 'served', 'two.git');
    await run('git', ['clone', '-q', '--bare', wc, bare]);
    await run('git', ['update-server-info'], bare);
    const uri = `${farm.served.url}/two.git`;

    const created = await t.req('POST', '/api/v1/repositories', { json: { name: uniqueName('two'), provider: 'github', cloneUrl: uri }, auth: true });
    expect(created.status, created.text).toBe(201);
    const repo = created.json<{ webhookUrl: string; secret: string }>();
    const delivery = randomUUID();
    const push = async () => {
      const text = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: commit, repository: { clone_url: uri } });
      const r = await fetch(repo.webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-hub-signature-256': `sha256=${createHmac('sha256', repo.secret).update(text).digest('hex')}`,
        },
        body: text,
      });
      return { status: r.status, body: (await r.json()) as any };
    };

    const before = await t.counts();
    const deliveries = async () => (await t.kysely.selectFrom('webhook_deliveries').select('delivery_id').where('delivery_id', '=', delivery).execute()).length;
    const events: ControllerEvent[] = [];
    const off = t.c.ctx.events.on((e) => events.push(e));
    try {
      let r = await push();
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error).toBe(`suite '${empty}' has no architectures configured (add suite-arch mappings) (package bbwb-second)`);
      expect(await t.counts()).toEqual(before);
      expect(await jobsOf(t, 'bbwb-first')).toEqual([]);
      expect(events.filter((e) => e.type.startsWith('job.') || e.type === 'outbox.pending')).toEqual([]);
      expect(await deliveries()).toBe(0);

      // The suite set up, the same delivery is taken and queues both packages.
      expect((await t.put('/suitearch', { suite_id: await t.idOf('suite', empty), arch_id: await t.idOf('arch', 'amd64') })).status).toBe(200);
      r = await push();
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.queued.map((q: { package: string; suite: string; jobIds: number[] }) => [q.package, q.suite, q.jobIds.length])).toEqual([
        ['bbwb-first', farm.suite, 2],
        ['bbwb-second', empty, 1],
      ]);
      const jobs = [...(await jobsOf(t, 'bbwb-first')), ...(await jobsOf(t, 'bbwb-second'))];
      expect(jobs.map((j) => j.id).sort()).toEqual(r.body.queued.flatMap((q: { jobIds: number[] }) => q.jobIds).sort());
      for (const j of jobs) expect(j).toMatchObject({ status: 'Waiting', method: 'git', vcs_id: commit });
      expect(events.filter((e) => e.type === 'job.created').length).toBe(3);
      expect(await deliveries()).toBe(1);
      expect((await push()).body).toMatchObject({ duplicate: true, queued: [] });
    } finally {
      off();
    }
  });
});
