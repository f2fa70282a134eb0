// A Buildbox worker against a plain pyBit controller (no /api/v1): it must follow pyBit's
// build-client protocol (spec/pybit.md §5, checklist 48–57) over real RabbitMQ, building real
// packages with the dpkg backend.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQueueName } from '../../src-shared/pybit-models';
import { makeBuildRequest } from '../fixtures/build-request';
import { uniqueName } from '../helpers/db';
import { HOST_ARCH, processesMatching, tempDirs } from '../worker/helpers';
import { Broker, runCli, startWorker, stopAll, until, withWebHost, type Proc } from './harness';
import { startPybitEndpoint, type PybitEndpoint } from './pybit-endpoint';
import { SourceServer } from './sources';

const dirs = tempDirs();
let broker: Broker;
let web: PybitEndpoint;
let sources: SourceServer;
let worker: Proc;
let buildroot: string;
const suite = uniqueName('pybitcompat');
const clientId = uniqueName('c');
const queue = buildQueueName('Debian', HOST_ARCH, suite, 'deb');
let nextId = 1000;

function request(jobId: number, pkg: { name: string; version: string }, method: string, uri: string, vcsId: string | null = null) {
  return withWebHost(makeBuildRequest({ jobId, package: pkg.name, version: pkg.version, arch: HOST_ARCH, suite, method, uri, vcsId }), web.webHost);
}

const statusesOf = (jobId: number) => web.puts.filter((p) => p.jobId === jobId).map((p) => p.status);

beforeAll(async () => {
  broker = await Broker.connect();
  web = await startPybitEndpoint();
  sources = await SourceServer.start(dirs.make('bb-e2e-src-'));
  buildroot = dirs.make('bb-e2e-root-');
  // No --controller: like pyBit, the worker reports to each message's web_host.
  worker = startWorker({ clientId, suite, arch: HOST_ARCH, buildroot });
  await worker.waitFor(/ready:/);
});

afterAll(async () => {
  await stopAll();
  await broker.deleteQueue(queue);
  await broker.close();
  await web.close();
  await sources.close();
  dirs.cleanup();
});

describe('pyBit compatibility mode', () => {
  it('declares its build queue and refuses a second worker with the same client id', async () => {
    expect(await broker.messageCount(queue)).toBe(0); // exists (checkQueue would throw otherwise)
    const twin = runCli(['worker', '--amqp', process.env.BUILDBOX_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672/', '--client-id', clientId, '--suite', suite, '--arch', HOST_ARCH, '--buildroot', dirs.make(), '--backend', 'dry-run']);
    const { code } = await twin.exited;
    expect(code).toBe(3);
    expect(twin.lines.join('\n')).toContain(`build_client_${clientId} is already held`);
  });

  it('builds a git source: PUT Building with its client name, then Done; acks; writes the pyBit-named log', async () => {
    const g = sources.git({ name: 'bbcompat-ok', variant: 'ok' });
    const id = nextId++;
    web.setStatus(id, 'Waiting');
    await broker.publishBuild(request(id, g, 'git', g.uri, g.commit));
    await until(() => statusesOf(id).includes('Done') || statusesOf(id).includes('Failed'));
    expect(statusesOf(id)).toEqual(['Building', 'Done']);
    expect(web.puts.find((p) => p.jobId === id && p.status === 'Building')?.client).toBe(`build_client_${clientId}`);
    // pyBit's client authenticates its PUTs (admin:pass unless told otherwise).
    expect(web.puts.find((p) => p.jobId === id)?.auth).toMatch(/^Basic /);
    await until(async () => (await broker.messageCount(queue)) === 0);
    const logs = readdirSync(join(buildroot, 'logs')).filter((f) => f.startsWith(`${g.name}_${g.version}-${HOST_ARCH}-`));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(new RegExp(`^${g.name}_${g.version}-${HOST_ARCH}-\\d+$`));
    const text = readFileSync(join(buildroot, 'logs', logs[0]), 'utf8');
    expect(text).toContain(`buildbox-test: building ${g.marker}`);
    expect(text).toContain('Result: OK');
    // The workspace is cleaned.
    expect(existsSync(join(buildroot, suite, 'git', `job-${id}`))).toBe(false);
  });

  it('builds a .dsc URL source to Done', async () => {
    const d = sources.dsc({ name: 'bbcompat-dsc', variant: 'ok' });
    const id = nextId++;
    web.setStatus(id, 'Blocked'); // Blocked is as buildable as Waiting
    await broker.publishBuild(request(id, d, 'dsc', d.uri));
    await until(() => statusesOf(id).length >= 2);
    expect(statusesOf(id)).toEqual(['Building', 'Done']);
  });

  it('acks without building or reporting a Cancelled or unknown job', async () => {
    const g = sources.git({ name: 'bbcompat-skip', variant: 'ok' });
    const cancelled = nextId++;
    const unknown = nextId++;
    const after = nextId++;
    web.setStatus(cancelled, 'Cancelled');
    web.setStatus(after, 'Waiting');
    await broker.publishBuild(request(cancelled, g, 'git', g.uri));
    await broker.publishBuild(request(unknown, g, 'git', g.uri));
    await broker.publishBuild(request(after, g, 'git', g.uri));
    // Messages are handled in order: once the third is Done the first two were dropped.
    await until(() => statusesOf(after).includes('Done'));
    expect(statusesOf(cancelled)).toEqual([]);
    expect(statusesOf(unknown)).toEqual([]);
    expect(web.requests).toContain(`GET /job/${cancelled}/status`);
    expect(web.requests).toContain(`GET /job/${unknown}/status`);
    expect(await broker.messageCount(queue)).toBe(0);
  });

  it('a failing package ends Failed', async () => {
    const g = sources.git({ name: 'bbcompat-fail', variant: 'fail' });
    const id = nextId++;
    web.setStatus(id, 'Waiting');
    await broker.publishBuild(request(id, g, 'git', g.uri, g.commit));
    await until(() => statusesOf(id).length >= 2);
    expect(statusesOf(id)).toEqual(['Building', 'Failed']);
  });

  it('a missing build-dependency PUTs Blocked and republishes the request until it builds', async () => {
    const g = sources.git({ name: 'bbcompat-dep', variant: 'depfail', buildDepends: `bbtest-missing-${suite.toLowerCase().replace(/_/g, '-')}` });
    const id = nextId++;
    web.setStatus(id, 'Waiting');
    // vcs_id null: each attempt clones the branch head.
    await broker.publishBuild(request(id, g, 'git', g.uri, null));
    await until(() => statusesOf(id).includes('Blocked'));
    // The worker republished it itself: it comes back and is tried again.
    await until(() => statusesOf(id).filter((s) => s === 'Blocked').length >= 2);
    SourceServer.dropBuildDepends(g);
    await until(() => statusesOf(id).includes('Done'));
    const s = statusesOf(id);
    expect(s[s.length - 1]).toBe('Done');
    expect(s.filter((x) => x === 'Building').length).toBeGreaterThanOrEqual(3);
    const logs = readdirSync(join(buildroot, 'logs')).filter((f) => f.startsWith(`${g.name}_`));
    const text = logs.map((f) => readFileSync(join(buildroot, 'logs', f), 'utf8')).join('\n');
    expect(text).toContain(`bbtest-missing-`);
    await until(async () => (await broker.messageCount(queue)) === 0);
  });

  it('a CancelRequest for another job only PUTs Cancelled; for the running job it stops the whole process tree', async () => {
    const g = sources.git({ name: 'bbcompat-sleep', variant: 'sleep' });
    const id = nextId++;
    const other = nextId++;
    web.setStatus(id, 'Waiting');
    await broker.publishBuild(request(id, g, 'git', g.uri, g.commit));
    await until(() => processesMatching(g.marker).length > 0);

    await broker.publishCancel(request(other, g, 'git', g.uri).job, `build_client_${clientId}`, web.webHost);
    await until(() => statusesOf(other).includes('Cancelled'));
    expect(processesMatching(g.marker).length).toBeGreaterThan(0); // still building

    await broker.publishCancel(request(id, g, 'git', g.uri).job, `build_client_${clientId}`, web.webHost);
    await until(() => statusesOf(id).includes('Cancelled'));
    await until(() => processesMatching(g.marker).length === 0);
    await until(async () => (await broker.messageCount(queue)) === 0);
    await until(() => !existsSync(join(buildroot, suite, 'git', `job-${id}`)));
    expect(statusesOf(id)).toEqual(['Building', 'Cancelled']);

    // And the worker is idle again: the next job builds.
    const next = nextId++;
    const ok = sources.git({ name: 'bbcompat-after', variant: 'ok' });
    web.setStatus(next, 'Waiting');
    await broker.publishBuild(request(next, ok, 'git', ok.uri));
    await until(() => statusesOf(next).includes('Done'));
  });
});
