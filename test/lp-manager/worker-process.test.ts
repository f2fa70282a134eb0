// The buildd-manager against real `buildbox worker --no-amqp --xmlrpc` processes building with
// dpkg-buildpackage: upload → dispatch → build → collect → clean, then a builder killed with
// SIGKILL mid-build and restarted on the same port (it forgot its build) → the job is reset and
// built again. Needs dist/cli.js (`npm run build:cli`; npm test builds it first).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serializeMethodCall } from '../../src-worker/lp-builder/xmlrpc';
import { sqliteTestDb, tempDir, uniqueName } from '../helpers/db';
import { buildQueueName } from '../../src-shared/pybit-models';
import { Broker, runCli, stopAll, type Proc } from '../worker-e2e/harness';
import { getBytes, HOST_ARCH, startFarm, waitFor, type Farm } from './helpers';

let farm: Farm | null = null;
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  await stopAll();
  await farm?.close();
  farm = null;
  for (const c of cleanups.splice(0)) await c();
});

interface WorkerProc {
  proc: Proc;
  url: string;
  port: number;
}

/** `buildbox worker --no-amqp --xmlrpc 127.0.0.1:<port>`; resolves once it prints its URL. */
async function startWorkerProcess(buildroot: string, port: number, extra: string[] = []): Promise<WorkerProc> {
  const proc = runCli([
    'worker',
    '--no-amqp',
    '--xmlrpc',
    `127.0.0.1:${port}`,
    '--buildroot',
    buildroot,
    '--backend',
    'dpkg',
    '--kill-timeout-seconds',
    '1',
    ...extra,
  ]);
  const ready = /ready: XML-RPC builder (http:\/\/\S+)\/rpc/;
  const url = ready.exec(await proc.waitFor(ready))![1]!;
  return { proc, url, port: Number(new URL(url).port) };
}

function workDir(): string {
  const t = tempDir('buildbox-lpw-');
  cleanups.push(() => t.cleanup());
  return t.dir;
}

describe('buildd-manager with `buildbox worker --xmlrpc` processes (sqlite)', () => {
  it('builds an uploaded package on a worker process and collects the results into the librarian', async () => {
    farm = await startFarm(sqliteTestDb);
    const root = workDir();
    const w = await startWorkerProcess(join(root, 'worker'), 0, ['--arch-tag', HOST_ARCH]);
    expect(w.proc.lines.join('\n')).toContain(`XML-RPC builder ${w.url}/rpc (arch ${HOST_ARCH}`);

    expect((await farm.addChroot()).status).toBe(201);
    const { pkg, res } = await farm.upload({ variant: 'ok', name: 'bblpw-ok' });
    expect(res.status, res.text).toBe(201);
    const jobId: number = res.json().jobIds[0];
    expect((await farm.addBuilder('proc-1', w.url)).status).toBe(201);

    await waitFor('the job to be built', async () => (await farm!.job(jobId)).status === 'Done', 90_000);
    expect(await farm.job(jobId)).toMatchObject({ status: 'Done', result: 'OK', lease_owner: null });
    expect(await farm.history(jobId)).toEqual(['Waiting', 'Building', 'Done']);

    const arts = await farm.c.ctx.db.kysely.selectFrom('artifacts').selectAll().where('job_id', '=', jobId).execute();
    expect(arts.map((a) => a.name)).toEqual(
      expect.arrayContaining([`${pkg.name}_${pkg.version}_${HOST_ARCH}.deb`, `${pkg.name}_${pkg.version}_${HOST_ARCH}.changes`, expect.stringMatching(/^buildlog_.*_FULLYBUILT\.txt$/)]),
    );
    for (const a of arts) {
      const { status, body } = await getBytes(`${farm.url}/files/${a.sha1}/${encodeURIComponent(a.name)}`);
      expect(status).toBe(200);
      expect(createHash('sha1').update(body).digest('hex')).toBe(a.sha1);
    }
    // The worker's file cache is the --buildroot default, and clean() left the inputs in it.
    await waitFor('the builder to be clean', async () => {
      const b = await farm!.builder('proc-1');
      return b.cleanStatus === 'CLEAN' && b.lastStatus === 'BuilderStatus.IDLE';
    });
    const chroot = await farm.c.ctx.db.kysely.selectFrom('chroots').select('sha1').executeTakeFirstOrThrow();
    expect(existsSync(join(root, 'worker', 'filecache', chroot.sha1))).toBe(true);
    expect(farm.lines).toContain(`Dispatching job ${jobId} (PACKAGEBUILD-${jobId}) to proc-1`);
  }, 150_000);

  it('a worker process killed with SIGKILL mid-build and restarted on its port: the job is reset and rebuilt', async () => {
    // Scans of a builder that does not answer are tolerated 5 times in a row; at 2 s a scan that
    // leaves the restart 10 s, so the job is reset by the restarted builder's IDLE answer (the
    // path under test), not by the failure counting.
    farm = await startFarm(sqliteTestDb, { scanIntervalMs: 2000 });
    const root = workDir();
    const release = join(root, 'release');
    const started = join(root, 'started');
    mkdirSync(started);
    // Holds each build in BUILDING (the prep command runs first) until the test releases it.
    const prep = `touch '${started}'/"$BUILDBOX_BUILD_ID"; while [ ! -e '${release}' ]; do sleep 0.05; done`;
    const first = await startWorkerProcess(join(root, 'worker'), 0, ['--prep-command', prep]);

    await farm.addChroot();
    const { res } = await farm.upload({ variant: 'ok', name: 'bblpw-restart' });
    expect(res.status, res.text).toBe(201);
    const jobId: number = res.json().jobIds[0];
    await farm.addBuilder('proc-restart', first.url);

    await waitFor('the build to be held in BUILDING', async () => {
      const b = await farm!.builder('proc-restart');
      return b.lastStatus === 'BuilderStatus.BUILDING' && b.currentJob?.jobId === jobId;
    }, 60_000);
    expect((await farm.job(jobId)).status).toBe('Building');

    first.proc.child.kill('SIGKILL');
    expect((await first.proc.exited).signal).toBe('SIGKILL');
    // Ends the orphaned prep loop of the killed process, and lets the rebuild run through.
    writeFileSync(release, '');

    const second = await startWorkerProcess(join(root, 'worker'), first.port, ['--prep-command', prep]);
    expect(second.url).toBe(first.url);
    await waitFor('the reset', () => farm!.lines.includes(`Builder ${first.url} forgot about buildqueue ${jobId} -- resetting buildqueue record`), 60_000);
    await waitFor('the rebuild to finish', async () => (await farm!.job(jobId)).status === 'Done', 90_000);
    expect(await farm.job(jobId)).toMatchObject({ status: 'Done', result: 'OK', lease_owner: null });
    const hist = await farm.history(jobId);
    expect(hist[0]).toBe('Waiting');
    expect(hist.at(-1)).toBe('Done');
    expect(hist.filter((s) => s === 'Building').length).toBe(2);
    const arts = await farm.c.ctx.db.kysely.selectFrom('artifacts').select('name').where('job_id', '=', jobId).execute();
    expect(arts.map((a) => a.name)).toEqual(expect.arrayContaining([expect.stringMatching(/\.deb$/), expect.stringMatching(/\.changes$/)]));
  }, 200_000);
});

describe('buildbox worker --xmlrpc options', () => {
  it('serves the face alongside the AMQP consumer; SIGTERM stops both', async () => {
    const root = workDir();
    // Its own suite: the consumer's build queue is then its own, and removed afterwards.
    const suite = uniqueName('lpw');
    const broker = await Broker.connect();
    cleanups.push(() => broker.deleteQueue(buildQueueName('Debian', HOST_ARCH, suite, 'deb')).finally(() => broker.close()));
    const proc = runCli(['worker', '--xmlrpc', '127.0.0.1:0', '--backend', 'dry-run', '--client-id', suite, '--suite', suite, '--arch', HOST_ARCH]
      .concat(['--buildroot', root, '--arch-tag', 'i386', '--legacy-status']));
    const ready = /ready: 1 slot\(s\).*; XML-RPC builder (http:\/\/\S+)\/rpc \(arch i386, file cache (\S+)\)/;
    const m = ready.exec(await proc.waitFor(ready))!;
    expect(m[2]).toBe(join(root, 'filecache'));
    expect(existsSync(m[2]!)).toBe(true);
    const res = await fetch(`${m[1]}/rpc`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: serializeMethodCall('status', []) });
    // --legacy-status: the idle tuple ['BuilderStatus.IDLE', ''].
    expect(await res.text()).toMatch(/<array><data><value><string>BuilderStatus\.IDLE<\/string><\/value><value><string><\/string><\/value><\/data><\/array>/);
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  }, 60_000);

  it.each([
    [['--no-amqp'], '--no-amqp leaves nothing to do without --xmlrpc'],
    [['--no-amqp', '--xmlrpc', 'localhost:http'], "--xmlrpc: port must be 0..65535, got 'http'"],
    [['--no-amqp', '--xmlrpc', '70000'], "--xmlrpc: port must be 0..65535, got '70000'"],
    [['--no-amqp', '--xmlrpc', '--backend', 'scripted'], '--backend scripted needs --control-fifo PATH'],
    [['--xmlrpc', '--backend', 'scripted', '--control-fifo', '/tmp/x'], '--backend scripted drives XML-RPC builds only: add --no-amqp'],
    [['--filecache', '/tmp/x'], '--filecache needs --xmlrpc'],
    [['--no-amqp', '--xmlrpc', '0', '--arch-tag', 'bad arch'], "--arch-tag is not a valid architecture name: 'bad arch'"],
  ])('refuses %j with exit 2 and a message naming the option', async (args, message) => {
    const proc = runCli(['worker', '--buildroot', workDir(), ...args]);
    expect((await proc.exited).code).toBe(2);
    expect(proc.lines.join('\n')).toContain(message);
  });
});
