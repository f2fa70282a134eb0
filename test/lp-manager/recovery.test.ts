// The buildd-manager when things go wrong, against real launchpad-buildd faces driven through
// the scripted backend's FIFO: a builder restarted mid-build, a builder that faults on every
// call, cancellation, manual and disabled builders.
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serializeFault } from '../../src-worker/lp-builder/xmlrpc';
import { DIALECTS, sqliteTestDb } from '../helpers/db';
import { startFace, startFarm, waitFor, type Face, type Farm } from './helpers';

let farm: Farm | null = null;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await farm?.close();
  farm = null;
  for (const c of closers.splice(0)) await c();
});

async function face(opts: Parameters<typeof startFace>[0] = {}): Promise<Face> {
  const f = await startFace(opts);
  closers.push(() => f.close());
  return f;
}

/** Launchpad's BrokenWorker: every call answers Fault 8001. Listens on `port`. */
async function brokenWorker(port: number): Promise<{ calls: () => number; close(): Promise<void> }> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls++;
      const body = serializeFault(8001, 'Broken worker');
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  expect((server.address() as AddressInfo).port).toBe(port);
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  closers.push(close);
  return { calls: () => calls, close };
}

async function uploadOne(f: Farm, name: string): Promise<number> {
  const { res } = await f.upload({ name });
  expect(res.status, res.text).toBe(201);
  return res.json().jobIds[0];
}

const building = (f: Farm, jobId: number, builder: string) => async () => {
  const b = await f.builder(builder);
  return b.lastStatus === 'BuilderStatus.BUILDING' && b.currentJob?.jobId === jobId;
};

describe.each(DIALECTS)('buildd-manager: a builder restarts ($name)', ({ make }) => {
  it('a builder restarted mid-build forgot its job: the job is reset and built again', async () => {
    farm = await startFarm(make);
    await farm.addChroot();
    const first = await face();
    const jobId = await uploadOne(farm, 'bblp-restart');
    await farm.addBuilder('flaky', first.url);
    await waitFor('the build to start', building(farm, jobId, 'flaky'));
    await first.send('LOG halfway there');
    await waitFor('the log tail', async () => (await farm!.builder('flaky')).currentJob?.logtail?.includes('halfway there') === true);

    // Restart: a new face (empty memory, IDLE) on the same port.
    const port = first.port;
    await first.close();
    const second = await face({ port });
    await waitFor('the reset', () => farm!.lines.includes(`Builder ${first.url} forgot about buildqueue ${jobId} -- resetting buildqueue record`));
    await waitFor('the rebuild to start', building(farm, jobId, 'flaky'));
    expect((await farm.job(jobId)).attempts).toBe(2);
    await second.send('RESULT OK');
    await waitFor('the job to be done', async () => (await farm!.job(jobId)).status === 'Done');
    expect(await farm.history(jobId)).toEqual(['Waiting', 'Building', 'Waiting', 'Building', 'Done']);
    const arts = await farm.c.ctx.db.kysely.selectFrom('artifacts').select('name').where('job_id', '=', jobId).execute();
    expect(arts.map((a) => a.name)).toEqual(expect.arrayContaining([expect.stringMatching(/\.changes$/), expect.stringMatching(/\.deb$/)]));
  });

});

describe('buildd-manager recovery', () => {
  it('GIVENBACK counts as a scan failure: after the thresholds the job is requeued, then built', async () => {
    farm = await startFarm(sqliteTestDb, { scanIntervalMs: 50 });
    await farm.addChroot();
    const f = await face();
    const jobId = await uploadOne(farm, 'bblp-givenback');
    await farm.addBuilder('gb', f.url);
    await waitFor('the build to start', building(farm, jobId, 'gb'));
    await f.send('RESULT GIVENBACK');
    await waitFor('the job to be requeued and started again', async () => (await farm!.job(jobId)).attempts === 2 && (await building(farm!, jobId, 'gb')()));
    expect(farm.lines.filter((l) => l.includes('Build returned GIVENBACK.')).length).toBeGreaterThanOrEqual(15);
    await f.send('RESULT OK');
    await waitFor('the job to be done', async () => (await farm!.job(jobId)).status === 'Done');
    expect(await farm.history(jobId)).toEqual(['Waiting', 'Building', 'Waiting', 'Building', 'Done']);
  });

  it('a builder that cannot fetch a file fails the dispatch: the job goes back to the queue', async () => {
    farm = await startFarm(sqliteTestDb);
    const chroot = (await farm.addChroot()).json();
    // The librarian loses the chroot tarball: the builder's ensurepresent gets a 404.
    rmSync(join(farm.dir, 'files', chroot.sha1.slice(0, 2), chroot.sha1));
    const f = await face();
    const jobId = await uploadOne(farm, 'bblp-nofetch');
    await farm.addBuilder('nf', f.url);
    const line = `nf (${f.url}) was unable to fetch file chroot.tar: Error accessing Librarian: HTTP Error 404: Not Found`;
    await waitFor('the dispatch failure', () => farm!.lines.some((l) => l.includes(line)));
    await waitFor('the job back in the queue', async () => (await farm!.job(jobId)).status === 'Waiting');
    expect((await farm.history(jobId)).slice(0, 3)).toEqual(['Waiting', 'Building', 'Waiting']);
    expect(await f.server.builder.status()).toEqual({ builder_status: 'BuilderStatus.IDLE' });
  });

  it('a builder faulting on every call is disabled after the thresholds; its job is built on another builder', async () => {
    farm = await startFarm(sqliteTestDb, { scanIntervalMs: 50 });
    await farm.addChroot();
    const good = await face();
    const doomed = await face();
    const jobId = await uploadOne(farm, 'bblp-broken');
    // The good builder waits in manual mode until the doomed one has the job.
    await farm.addBuilder('good', good.url, { manual: true });
    await farm.addBuilder('doomed', doomed.url);
    await waitFor('the doomed builder to build', building(farm, jobId, 'doomed'));
    await farm.req('PATCH', '/api/v1/builders/good', { json: { manual: false }, auth: true });
    const port = doomed.port;
    await doomed.close();
    const broken = await brokenWorker(port);

    await waitFor('the doomed builder to be disabled', async () => (await farm!.builder('doomed')).enabled === false, 60_000);
    const d = await farm.builder('doomed');
    expect(d.failureCount).toBe(5);
    expect(d.failureNotes).toContain('Broken worker');
    expect(d.currentJob).toBeNull();
    await waitFor('the job on the good builder', building(farm, jobId, 'good'));
    const bq = await farm.c.ctx.db.kysely.selectFrom('builder_jobs').selectAll().where('job_id', '=', jobId).executeTakeFirstOrThrow();
    // Three counted failures with equal counts, then the job was requeued (JOB_RESET_THRESHOLD).
    expect(bq.failure_count).toBe(3);
    await good.send('RESULT OK');
    await waitFor('the job to be done', async () => (await farm!.job(jobId)).status === 'Done');
    expect(await farm.history(jobId)).toEqual(['Waiting', 'Building', 'Waiting', 'Building', 'Done']);
    // A disabled builder is not contacted any more.
    const calls = broken.calls();
    const seen = (await farm.builder('good')).lastSeen;
    await waitFor('a few more scans', async () => (await farm!.builder('good')).lastSeen !== seen);
    await waitFor('yet more scans', async () => (await farm!.builder('good')).lastSeen !== seen);
    expect(broken.calls()).toBe(calls);
  });

  it('cancel: abort() → ABORTING → WAITING ABORTED → Cancelled, then the builder is cleaned', async () => {
    farm = await startFarm(sqliteTestDb);
    await farm.addChroot();
    const f = await face();
    const jobId = await uploadOne(farm, 'bblp-cancel');
    await farm.addBuilder('c1', f.url);
    await waitFor('the build to start', building(farm, jobId, 'c1'));
    const r = await farm.req('POST', `/api/v1/jobs/${jobId}/cancel`, { auth: true });
    expect(r.status, r.text).toBe(200);
    await waitFor('the builder to abort', async () => (await farm!.builder('c1')).lastStatus === 'BuilderStatus.ABORTING');
    expect((await farm.job(jobId)).status).toBe('Building');
    await f.send('any line ends the scripted abort');
    await waitFor('the job to be cancelled', async () => (await farm!.job(jobId)).status === 'Cancelled');
    expect(await farm.job(jobId)).toMatchObject({ result: 'ABORTED' });
    await waitFor('the builder to be clean', async () => {
      const b = await farm!.builder('c1');
      return b.cleanStatus === 'CLEAN' && b.lastStatus === 'BuilderStatus.IDLE';
    });
    expect(farm.lines).toContain(`Cancelling job ${jobId} (PACKAGEBUILD-${jobId}) on c1`);
  });

  it('cancel: a builder that does not finish aborting within the timeout gets its job marked Cancelled', async () => {
    farm = await startFarm(sqliteTestDb, { cancelTimeoutMs: 500 });
    await farm.addChroot();
    const f = await face();
    const jobId = await uploadOne(farm, 'bblp-cancel-slow');
    await farm.addBuilder('c2', f.url);
    await waitFor('the build to start', building(farm, jobId, 'c2'));
    await farm.req('POST', `/api/v1/jobs/${jobId}/cancel`, { auth: true });
    await waitFor('the job to be cancelled', async () => (await farm!.job(jobId)).status === 'Cancelled');
    expect((await farm.job(jobId)).result_details).toMatch(/Timeout waiting for job .* to cancel/);
    expect((await farm.builder('c2')).lastStatus).toBe('BuilderStatus.ABORTING');
    // Once the builder does finish, it is cleaned as usual.
    await f.send('done now');
    await waitFor('the builder to be clean', async () => (await farm!.builder('c2')).cleanStatus === 'CLEAN');
  });

  it('manual builders are scanned but get no new jobs; a disabled builder with a job gives it back', async () => {
    farm = await startFarm(sqliteTestDb);
    await farm.addChroot();
    const f = await face();
    const jobId = await uploadOne(farm, 'bblp-manual');
    await farm.addBuilder('m1', f.url, { manual: true });
    await waitFor('the manual builder to be clean', async () => (await farm!.builder('m1')).cleanStatus === 'CLEAN');
    // Scanned again and again while idle; the job keeps waiting.
    const seen = (await farm.builder('m1')).lastSeen;
    await waitFor('more scans', async () => (await farm!.builder('m1')).lastSeen !== seen);
    expect(farm.lines).toContain('m1 is in manual mode, not dispatching.');
    expect((await farm.job(jobId)).status).toBe('Waiting');

    await farm.req('PATCH', '/api/v1/builders/m1', { json: { manual: false }, auth: true });
    await waitFor('the build to start', building(farm, jobId, 'm1'));
    await farm.req('PATCH', '/api/v1/builders/m1', { json: { enabled: false }, auth: true });
    await waitFor('the job to go back to the queue', async () => (await farm!.job(jobId)).status === 'Waiting');
    expect(farm.lines).toContain(`m1 is disabled. Resetting job PACKAGEBUILD-${jobId}.`);
    expect((await farm.builder('m1')).currentJob).toBeNull();
  });
});
