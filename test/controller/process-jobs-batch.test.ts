// processJobs: several submissions in one transaction, on SQLite and PostgreSQL. All are queued
// or none is: a refusal of a later submission, found inside the transaction after the earlier
// ones have written their rows, leaves no row, no outbox message and no event behind, and names
// its package. Events follow the commit; superseding inside a batch is reported per submission;
// on PostgreSQL, concurrent batches sharing packages in opposite orders do not deadlock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/db';
import { setupSuite, startTestController, type TestController } from '../helpers/controller';
import { processJob, processJobs, type JobSubmission } from '../../src-main/controller/domain/process-job';
import type { ControllerEvent } from '../../src-main/controller/events';
import { HttpError } from '../../src-main/controller/http/errors';

describe.each(DIALECTS)('processJobs ($name)', ({ name: dialect, make }) => {
  let t: TestController;
  let events: ControllerEvent[];
  let off: () => void;
  beforeEach(async () => {
    t = await startTestController(make);
    await setupSuite(t, 'batch', [
      { name: 'amd64', weight: 1 },
      { name: 'arm64', weight: 0 },
    ]);
    events = [];
    off = t.c.ctx.events.on((e) => events.push(e));
  });
  afterEach(async () => {
    off?.();
    await t?.close();
  });

  const sub = (name: string, over: Partial<JobSubmission> = {}): JobSubmission => ({
    dist: 'Debian',
    arches: 'any',
    version: '1.0-1',
    name,
    suite: 'batch',
    format: 'deb',
    transport: { method: 'git', uri: `https://git.example/${name}`, vcsId: 'c0ffee' },
    ...over,
  });

  /** The refusal processJobs throws, as status and message. */
  async function refusal(p: Promise<unknown>): Promise<{ status: number; message: string }> {
    const e = await p.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(HttpError);
    return { status: (e as HttpError).statusCode, message: (e as HttpError).message };
  }

  it('queues every submission in one go and reports each one’s jobs; events follow', async () => {
    const rs = await processJobs(t.c.ctx, [sub('bat-a'), sub('bat-b', { arches: 'amd64' }), sub('bat-c')]);
    expect(rs.map((r) => r.jobIds.length)).toEqual([2, 1, 2]);
    expect(rs.every((r) => r.cancelled.length === 0)).toBe(true);
    const all = rs.flatMap((r) => r.jobIds);
    expect(new Set(all).size).toBe(5);
    const rows = await t.kysely
      .selectFrom('job as j')
      .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
      .innerJoin('package as p', 'p.id', 'pi.package_id')
      .select(['j.id', 'p.name', 'j.status'])
      .orderBy('j.id')
      .execute();
    expect(rows.map((r) => [r.id, r.name, r.status])).toEqual([
      [rs[0]!.jobIds[0], 'bat-a', 'Waiting'],
      [rs[0]!.jobIds[1], 'bat-a', 'Waiting'],
      [rs[1]!.jobIds[0], 'bat-b', 'Waiting'],
      [rs[2]!.jobIds[0], 'bat-c', 'Waiting'],
      [rs[2]!.jobIds[1], 'bat-c', 'Waiting'],
    ]);
    expect(await t.count('outbox')).toBe(5);
    expect(events.filter((e) => e.type === 'job.created').map((e) => (e as { jobId: number }).jobId)).toEqual(all);
    expect(await processJobs(t.c.ctx, [])).toEqual([]);
  });

  it('a later submission refused inside the transaction leaves nothing of the earlier ones', async () => {
    expect((await t.put('/arch', { name: 'mips' })).status).toBe(200);
    const before = await t.counts();
    // The second is refused only after its lookups, when the first has written its rows.
    let r = await refusal(processJobs(t.c.ctx, [sub('bat-ok'), sub('bat-none', { arches: 'mips' })]));
    expect(r.status).toBe(400);
    expect(r.message).toBe("suite 'batch' builds none of the requested architectures 'mips' (package bat-none)");
    // An unknown suite, third of three.
    r = await refusal(processJobs(t.c.ctx, [sub('bat-ok'), sub('bat-ok2'), sub('bat-lost', { suite: 'no-such-suite' })]));
    expect(r).toEqual({ status: 400, message: "unknown suite 'no-such-suite' (package bat-lost)" });
    // A field error is found before the transaction starts.
    r = await refusal(processJobs(t.c.ctx, [sub('bat-ok'), sub('bat-ver', { version: 'not a version' })]));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/^'package_version' is not a valid Debian version: .* \(package bat-ver\)$/);
    expect(await t.counts()).toEqual(before);
    expect(events).toEqual([]);

    // One submission alone: the message as it always was.
    r = await refusal(processJob(t.c.ctx, sub('bat-alone', { suite: 'no-such-suite' })));
    expect(r).toEqual({ status: 400, message: "unknown suite 'no-such-suite'" });
    // Once fixed, the same batch queues everything.
    const rs = await processJobs(t.c.ctx, [sub('bat-ok'), sub('bat-none', { arches: 'arm64' })]);
    expect(rs.map((x) => x.jobIds.length)).toEqual([2, 1]);
  });

  it('superseding inside a batch is reported by the submission that did it, and its events follow the commit', async () => {
    const old = await processJob(t.c.ctx, sub('bat-s', { version: '1.0-1' }));
    events.length = 0;
    const rs = await processJobs(t.c.ctx, [sub('bat-t'), sub('bat-s', { version: '1.0-2' }), sub('bat-s', { version: '1.0-3' })]);
    expect(rs[0]!.cancelled).toEqual([]);
    expect(rs[1]!.cancelled.sort()).toEqual([...old.jobIds].sort());
    // The third supersedes the second, written earlier in the same transaction.
    expect(rs[2]!.cancelled.sort()).toEqual([...rs[1]!.jobIds].sort());
    const cancelled = events.filter((e) => e.type === 'job.status' && e.status === 'Cancelled').map((e) => (e as { jobId: number }).jobId);
    expect(cancelled.sort()).toEqual([...old.jobIds, ...rs[1]!.jobIds].sort());
    const waiting = await t.kysely.selectFrom('job').select('id').where('status', '=', 'Waiting').orderBy('id').execute();
    expect(waiting.map((w) => w.id)).toEqual([...rs[0]!.jobIds, ...rs[2]!.jobIds]);
  });

  it.runIf(dialect === 'postgres')('concurrent batches sharing packages in opposite orders all commit (no deadlock), each package version once', async () => {
    const names = ['bat-p', 'bat-q', 'bat-r', 'bat-s', 'bat-t'];
    const batches = Array.from({ length: 12 }, (_, i) => {
      const order = i % 2 ? [...names].reverse() : [...names];
      return order.map((n) => sub(n, { version: `1.${i}-1` }));
    });
    const singles = names.map((n) => processJob(t.c.ctx, sub(n, { version: '0.9-1' })));
    const results = await Promise.allSettled([...batches.map((b) => processJobs(t.c.ctx, b)), ...singles]);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    // Each package got its jobs from every batch and single, one instance per arch (the
    // per-package lock still serialises its submissions).
    for (const n of names) {
      const rows = await t.kysely
        .selectFrom('job as j')
        .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
        .innerJoin('package as p', 'p.id', 'pi.package_id')
        .select(['p.version', 'pi.arch_id', 'j.status'])
        .where('p.name', '=', n)
        .execute();
      expect(rows.length).toBe(2 * 13);
      const instances = await t.kysely
        .selectFrom('packageinstance as pi')
        .innerJoin('package as p', 'p.id', 'pi.package_id')
        .select(['p.version', 'pi.arch_id'])
        .where('p.name', '=', n)
        .execute();
      expect(new Set(instances.map((x) => `${x.version}/${x.arch_id}`)).size).toBe(instances.length);
      // Exactly one version is left unfinished: every other was superseded.
      const waiting = new Set(rows.filter((r) => r.status === 'Waiting').map((r) => r.version));
      expect(waiting.size).toBe(1);
    }
  });
});
