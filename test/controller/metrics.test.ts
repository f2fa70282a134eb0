// GET /metrics: Prometheus text from a registry per controller. Values follow the database and
// this controller's own counters; one test publishes through the real broker.
import { afterEach, describe, expect, it } from 'vitest';
import { AMQP_TEST_URL, DIALECTS, sqliteTestDb, uniqueName } from '../helpers/db';
import { Broker, hookForm, setupSuite, startTestController, waitFor, type TestController } from '../helpers/controller';

/** Samples of the exposition format: `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function scrape(t: TestController): Promise<Map<string, number>> {
  const r = await t.get('/metrics');
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseMetrics(r.text);
}

const running: TestController[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.close();
});

describe.each(DIALECTS)('/metrics ($name)', ({ make }) => {
  it('follows submissions, status changes and queue depths', async () => {
    const t = await startTestController(make);
    running.push(t);
    const suite = uniqueName('suite').toLowerCase();
    await setupSuite(t, suite, [
      { name: 'amd64', weight: 1 },
      { name: 'i386', weight: 0 },
    ]);
    const before = await scrape(t);
    expect(before.get('buildbox_jobs{status="Waiting"}')).toBe(0);
    expect(before.get('buildbox_submissions_total')).toBe(0);
    expect(before.get('buildbox_oldest_waiting_seconds')).toBe(0);
    expect(before.get('buildbox_publish_failures_total')).toBe(0);

    expect((await t.post('/job/vcshook', hookForm({ suite, architecture_list: 'any' }))).status).toBe(200);
    expect((await t.post('/job/vcshook', hookForm({ package: 'other', suite, architecture_list: 'amd64' }))).status).toBe(200);
    const after = await scrape(t);
    expect(after.get('buildbox_submissions_total')).toBe(3);
    expect(after.get('buildbox_jobs{status="Waiting"}')).toBe(3);
    expect(after.get(`buildbox_queue_depth{queue="Debian_amd64_${suite}_deb"}`)).toBe(2);
    expect(after.get(`buildbox_queue_depth{queue="Debian_i386_${suite}_deb"}`)).toBe(1);
    expect(after.get('buildbox_oldest_waiting_seconds')).toBeGreaterThanOrEqual(0);
    // No broker: every message is still pending in the outbox.
    expect(after.get('buildbox_outbox_pending')).toBe(3);

    const jobs = await t.kysely.selectFrom('job').select('id').orderBy('id').execute();
    for (const { id } of jobs) expect((await t.put(`/job/${id}`, { status: 'Building', client: 'build_client_m' })).status).toBe(200);
    const building = await scrape(t);
    expect(building.get('buildbox_jobs{status="Waiting"}')).toBe(0);
    expect(building.get('buildbox_jobs{status="Building"}')).toBe(3);
    // A drained queue reports 0 rather than disappearing.
    expect(building.get(`buildbox_queue_depth{queue="Debian_amd64_${suite}_deb"}`)).toBe(0);
    expect(building.get('buildbox_oldest_waiting_seconds')).toBe(0);
  });
});

describe('/metrics registries and the broker', () => {
  it('keeps each controller’s counters in its own registry', async () => {
    const a = await startTestController(sqliteTestDb);
    running.push(a);
    const b = await startTestController(sqliteTestDb);
    running.push(b);
    const suite = uniqueName('suite').toLowerCase();
    await setupSuite(a, suite, [{ name: 'amd64', weight: 1 }]);
    expect((await a.post('/job/vcshook', hookForm({ suite, architecture_list: 'amd64' }))).status).toBe(200);
    expect((await scrape(a)).get('buildbox_submissions_total')).toBe(1);
    expect((await scrape(b)).get('buildbox_submissions_total')).toBe(0);
  });

  it('counts messages the broker confirmed and empties the pending gauge', async () => {
    const broker = await Broker.open(AMQP_TEST_URL);
    const t = await startTestController(sqliteTestDb, { amqp: AMQP_TEST_URL });
    running.push(t);
    try {
      const suite = uniqueName('suite').toLowerCase();
      await setupSuite(t, suite, [{ name: 'amd64', weight: 1 }]);
      const queue = `Debian_amd64_${suite}_deb`;
      broker.track(queue);
      const before = await scrape(t);
      expect(before.get('buildbox_published_total')).toBe(0);
      expect((await t.post('/job/vcshook', hookForm({ suite, architecture_list: 'amd64' }))).status).toBe(200);
      expect((await t.post('/job/vcshook', hookForm({ package: 'second', suite, architecture_list: 'amd64' }))).status).toBe(200);
      await waitFor('both messages confirmed', async () => (await scrape(t)).get('buildbox_published_total') === 2);
      await waitFor('outbox drained', async () => (await scrape(t)).get('buildbox_outbox_pending') === 0);
      const m = await scrape(t);
      expect(m.get('buildbox_publish_failures_total')).toBe(0);
      expect(m.get(`buildbox_queue_depth{queue="${queue}"}`)).toBe(2);
      expect((await broker.take(queue, 2, { settleMs: 0 })).length).toBe(2);
    } finally {
      await broker.close();
    }
  });
});
