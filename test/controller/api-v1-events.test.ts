// GET /api/v1/events over real HTTP on both databases: job.created and job.status frames after a
// submission, the ?job filter, replay with Last-Event-ID, and a server close that ends open
// streams instead of hanging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseParser } from '../../src-shared/api-client';
import { DIALECTS, uniqueName } from '../helpers/db';
import { hookForm, setupSuite, startTestController, waitFor, type TestController } from '../helpers/controller';

interface Frame {
  id: string | null;
  event: string;
  data: any;
}

/** A raw SSE connection read with fetch streaming, collecting frames. */
async function connect(url: string, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const frames: Frame[] = [];
  let ended = false;
  const parser = new SseParser();
  const reading = (async () => {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const f of parser.push(dec.decode(value, { stream: true }))) if (f.data) frames.push({ id: f.id, event: f.event, data: JSON.parse(f.data) });
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  return {
    res,
    frames,
    ended: () => ended,
    reading,
    close: () => ac.abort(),
  };
}

describe.each(DIALECTS)('/api/v1/events ($name)', ({ make }) => {
  let t: TestController;
  let suite: string;
  beforeAll(async () => {
    t = await startTestController(make);
    suite = uniqueName('suite').toLowerCase();
    await setupSuite(t, suite, [
      { name: 'amd64', weight: 1 },
      { name: 'i386', weight: 0 },
    ]);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('delivers job.created and job.status after a submission, each with id, event and data', async () => {
    const s = await connect(`${t.url}/api/v1/events`);
    try {
      expect(s.res.status).toBe(200);
      expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const r = await t.req('POST', '/api/v1/jobs', {
        auth: true,
        json: { package: 'ssepkg', version: '1.0', arch_list: 'any', dist: 'Debian', suite, format: 'deb', method_type: 'git', uri: 'https://git/x' },
      });
      expect(r.status, r.text).toBe(201);
      const jobIds: number[] = r.json().jobIds;
      await waitFor('job.created frames', () => s.frames.filter((f) => f.event === 'job.created').length >= jobIds.length);
      const created = s.frames.filter((f) => f.event === 'job.created');
      expect(created.map((f) => f.data.jobId).sort()).toEqual([...jobIds].sort());
      expect(created[0]!.data).toMatchObject({ type: 'job.created', status: 'Waiting' });
      // A status change: cancel one of them through the API.
      expect((await t.req('POST', `/api/v1/jobs/${jobIds[0]}/cancel`, { auth: true })).status).toBe(200);
      await waitFor('job.status frame', () => s.frames.some((f) => f.event === 'job.status'));
      expect(s.frames.find((f) => f.event === 'job.status')!.data).toEqual({ type: 'job.status', jobId: jobIds[0], status: 'Cancelled', previous: 'Waiting', client: null });
      const frameIds = s.frames.map((f) => Number(f.id));
      expect(frameIds.every((n) => Number.isInteger(n) && n > 0)).toBe(true);
      expect([...frameIds].sort((a, b) => a - b)).toEqual(frameIds);
      expect(new Set(frameIds).size).toBe(frameIds.length);
    } finally {
      s.close();
    }
  });

  it('filters by ?job and replays missed events after Last-Event-ID', async () => {
    const all = await connect(`${t.url}/api/v1/events`);
    const r = await t.post('/job/vcshook', hookForm({ package: 'filtered', suite, architecture_list: 'any' }));
    expect(r.status, r.text).toBe(200);
    await waitFor('two job.created', () => all.frames.filter((f) => f.event === 'job.created').length >= 2);
    const [a, b] = all.frames.filter((f) => f.event === 'job.created').map((f) => f.data.jobId as number);
    const one = await connect(`${t.url}/api/v1/events?job=${a}`);
    try {
      await t.put(`/job/${b}`, { status: 'Building', client: 'build_client_x' });
      await t.put(`/job/${a}`, { status: 'Building', client: 'build_client_x' });
      await waitFor('status frames on the unfiltered stream', () => all.frames.filter((f) => f.event === 'job.status').length >= 2);
      await waitFor('the filtered frame', () => one.frames.length >= 1);
      expect(one.frames.map((f) => [f.event, f.data.jobId, f.data.status])).toEqual([['job.status', a, 'Building']]);
      expect(one.frames[0]!.data.client).toBe('build_client_x');

      // Reconnect from the first created frame: everything after it comes again, in order.
      const firstId = all.frames[0]!.id!;
      const replay = await connect(`${t.url}/api/v1/events`, { 'last-event-id': firstId });
      try {
        const want = all.frames.slice(1).map((f) => f.id);
        await waitFor('replay', () => replay.frames.length >= want.length);
        expect(replay.frames.map((f) => f.id)).toEqual(want);
      } finally {
        replay.close();
      }
    } finally {
      one.close();
      all.close();
    }
    const bad = await t.get('/api/v1/events?job=abc');
    expect(bad.status).toBe(400);
    expect(bad.json().error).toContain("'job'");
  });

  it('ends open streams when the controller closes, and close() does not hang', async () => {
    const own = await startTestController(make);
    const s1 = await connect(`${own.url}/api/v1/events`);
    const s2 = await connect(`${own.url}/api/v1/events?job=1`);
    expect(s1.res.status).toBe(200);
    await own.close();
    await Promise.all([s1.reading, s2.reading]);
    expect(s1.ended() && s2.ended()).toBe(true);
  });
});
