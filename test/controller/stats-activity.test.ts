// GET /api/v1/stats/activity on SQLite and PostgreSQL: jobs are submitted through pyBit's hook and
// driven through the worker API (claim, finish), then their status history is moved to known
// times inside (and before) the window, and every bucket's counts, durations and queue depth are
// checked. Bad parameters get 400s that name the parameter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityResponse } from '../../src-shared/activity-api';
import { toDbTime } from '../../src-main/controller/db/time';
import { history } from '../helpers/controller';
import { DIALECTS } from '../helpers/db';
import { startWorkerTest, type WorkerTest } from './worker-api-helpers';

const MIN = 60_000;

/** What each job goes through, as minutes from the window's start (negative: before it). */
const PLAN: Record<string, { end: 'Done' | 'Failed' | 'Building' | 'Waiting'; times: number[] }> = {
  a: { end: 'Done', times: [10, 70, 100] },
  b: { end: 'Failed', times: [20, 130, 190] },
  c: { end: 'Building', times: [30, 135] },
  d: { end: 'Waiting', times: [200] },
  e: { end: 'Done', times: [-120, 40, 150] },
  f: { end: 'Waiting', times: [-60] },
  g: { end: 'Done', times: [5, 50, 110] },
};

describe.each(DIALECTS)('GET /api/v1/stats/activity ($name)', ({ make }) => {
  let w: WorkerTest;
  const jobs: Record<string, number> = {};

  beforeAll(async () => {
    w = await startWorkerTest(make);
    for (const [key, p] of Object.entries(PLAN)) {
      const id = await w.submit(`act-${key}`);
      jobs[key] = id;
      if (p.end === 'Waiting') continue;
      expect((await w.claim(id, 'build_client_act')).status).toBe(200);
      if (p.end === 'Building') continue;
      const r = await w.finish(id, { worker: 'build_client_act', status: p.end, result: p.end === 'Done' ? 'OK' : 'PACKAGEFAIL' });
      expect(r.status, r.text).toBe(200);
    }
    // The history the API wrote is what the plan expects, one row per time.
    for (const [key, p] of Object.entries(PLAN)) {
      const h = await history(w.t, jobs[key]!);
      expect(h, key).toEqual(['Waiting', 'Building', p.end].slice(0, p.times.length));
    }
  }, 60_000);

  afterAll(async () => {
    await w?.close();
  });

  /** Moves every job's history to PLAN's times relative to `from`. */
  async function placeAt(from: number): Promise<void> {
    for (const [key, p] of Object.entries(PLAN)) {
      const rows = await w.t.kysely.selectFrom('jobstatus').select('id').where('job_id', '=', jobs[key]!).orderBy('id').execute();
      for (const [i, r] of rows.entries()) {
        await w.t.kysely.updateTable('jobstatus').set({ time: toDbTime(new Date(from + p.times[i]! * MIN)) }).where('id', '=', r.id).execute();
      }
      const first = toDbTime(new Date(from + p.times[0]! * MIN));
      const last = toDbTime(new Date(from + p.times.at(-1)! * MIN));
      await w.t.kysely.updateTable('job').set({ created_at: first, updated_at: last }).where('id', '=', jobs[key]!).execute();
    }
  }

  async function activity(query: string): Promise<ActivityResponse> {
    const r = await w.t.get(`/api/v1/stats/activity${query}`);
    expect(r.status, r.text).toBe(200);
    return ActivityResponse.parse(r.json());
  }

  /** The window's start can move on between placing and asking (a bucket boundary): place again then. */
  async function placedActivity(query: string): Promise<ActivityResponse> {
    let res = await activity(query);
    for (let i = 0; i < 3; i++) {
      const from = Date.parse(res.from);
      await placeAt(from);
      res = await activity(query);
      if (Date.parse(res.from) === from) return res;
    }
    throw new Error('the window kept moving');
  }

  it('counts submissions, starts, finishes, durations and queue depth per bucket', async () => {
    const res = await placedActivity('?hours=6&bucket=60');
    expect(res.hours).toBe(6);
    expect(res.bucketMinutes).toBe(60);
    expect(res.buckets).toHaveLength(6);
    expect(Date.parse(res.to) - Date.parse(res.from)).toBe(6 * 60 * MIN);
    expect(Date.parse(res.to)).toBeGreaterThan(Date.now() - 60 * MIN);
    const pick = (b: ActivityResponse['buckets'][number]) => [b.submitted, b.started, b.done, b.failed, b.meanBuildSeconds, b.maxBuildSeconds, b.waitingAtEnd];
    expect(res.buckets.map(pick)).toEqual([
      // a, b, c, g submitted; e and g start; e and f were Waiting before the window.
      [4, 2, 0, 0, null, null, 4],
      // a starts; a (30 min) and g (60 min) are done.
      [0, 1, 2, 0, 45 * 60, 60 * 60, 3],
      // b and c start; e is done after 110 min of building.
      [0, 2, 1, 0, 110 * 60, 110 * 60, 1],
      // b fails after 60 min; d is submitted.
      [1, 0, 0, 1, 60 * 60, 60 * 60, 2],
      [0, 0, 0, 0, null, null, 2],
      [0, 0, 0, 0, null, null, 2],
    ]);
    for (const [i, b] of res.buckets.entries()) {
      expect(Date.parse(b.start)).toBe(Date.parse(res.from) + i * 60 * MIN);
      expect(Date.parse(b.end)).toBe(Date.parse(b.start) + 60 * MIN);
    }
  });

  it('sees the history before the window only through the depth it left', async () => {
    const fine = await placedActivity('?hours=6&bucket=15');
    expect(fine.buckets).toHaveLength(24);
    const sum = (k: 'submitted' | 'started' | 'done' | 'failed') => fine.buckets.reduce((n, b) => n + b[k], 0);
    // e's and f's submissions lie before the window; the rest is inside.
    expect([sum('submitted'), sum('started'), sum('done'), sum('failed')]).toEqual([5, 5, 3, 1]);
    // e and f wait from before the window; g (+5) and a (+10), b (+20), c (+30) join; e starts at +40.
    expect(fine.buckets.slice(0, 3).map((b) => b.waitingAtEnd)).toEqual([4, 5, 5]);
    expect(fine.buckets.at(-1)!.waitingAtEnd).toBe(2);

    // A week in days: everything, e and f's submissions included.
    const week = await activity('?hours=168&bucket=1440');
    expect(week.buckets).toHaveLength(7);
    const total = (k: 'submitted' | 'started' | 'done' | 'failed') => week.buckets.reduce((n, b) => n + b[k], 0);
    expect([total('submitted'), total('started'), total('done'), total('failed')]).toEqual([7, 5, 3, 1]);
    expect(week.buckets.at(-1)!.waitingAtEnd).toBe(2);
  });

  it('uses defaults when no parameter is given', async () => {
    const res = await activity('');
    expect(res.hours).toBe(12);
    expect(res.bucketMinutes).toBe(60);
    expect(res.buckets).toHaveLength(12);
  });

  it('is described in the OpenAPI document with its parameters', async () => {
    const doc = (await w.t.get('/api/v1/openapi.json')).json();
    const op = doc.paths['/api/v1/stats/activity']?.get;
    expect(op).toBeDefined();
    expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(['hours', 'bucket']);
    expect(op.responses['200'].content['application/json'].schema.properties.buckets).toBeDefined();
  });

  it.each([
    ['?hours=0', /hours/],
    ['?hours=169', /hours.*between 1 and 168/],
    ['?hours=abc', /hours/],
    ['?hours=1.5', /hours/],
    ['?bucket=7', /bucket.*one of/],
    ['?hours=168&bucket=1', /bucket.*at most 500/],
    ['?span=3', /unknown query parameter 'span'/],
  ])('answers %s with a 400 naming the parameter', async (query, message) => {
    const r = await w.t.get(`/api/v1/stats/activity${query}`);
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(message);
  });
});
