// `buildbox submit --wait` with a real worker process building real packages over RabbitMQ:
// the log streams to stdout, a progress line goes to stderr, and the exit status says whether
// every job succeeded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQueueName } from '../../src-shared/pybit-models';
import { uniqueName } from '../helpers/db';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { Broker, startWorker, stopAll } from '../worker-e2e/harness';
import { TestController } from '../worker-e2e/controller-harness';
import { SourceServer } from '../worker-e2e/sources';
import { cli, userToken } from './helpers';

const dirs = tempDirs();
let ctl: TestController;
let sources: SourceServer;
let broker: Broker;
let env: NodeJS.ProcessEnv;
const suite = uniqueName('cliwait').replace(/_/g, '-');

beforeAll(async () => {
  ctl = await TestController.start();
  await ctl.addTarget(suite, HOST_ARCH);
  broker = await Broker.connect();
  sources = await SourceServer.start(dirs.make('bb-cliwait-src-'));
  env = { BUILDBOX_URL: ctl.url, BUILDBOX_TOKEN: await userToken(ctl.c) };
  const worker = startWorker({ clientId: uniqueName('w'), suite, arch: HOST_ARCH, buildroot: dirs.make('bb-cliwait-root-'), controller: ctl.url, token: ctl.workerToken });
  await worker.waitFor(/ready:/);
});

afterAll(async () => {
  await stopAll();
  await ctl?.close();
  await broker?.deleteQueue(buildQueueName('Debian', HOST_ARCH, suite, 'deb'));
  await broker?.close();
  await sources?.close();
  dirs.cleanup();
});

describe('buildbox submit --wait', () => {
  it('follows a build to Done, streaming its log, and exits 0', async () => {
    const g = sources.git({ name: 'bbwait-ok', variant: 'ok', distribution: suite });
    const r = await cli(['submit', '--git', g.uri, '--ref', g.commit, '--wait'], env, { timeoutMs: 300_000 });
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`buildbox-test: building ${g.marker}`);
    expect(r.stderr).toMatch(/\[1\/1 finished\] #\d+ \S+ Done/);
    expect(r.stderr).toMatch(/job \d+ \(\S+\): Done/);
  });

  it('exits 1 when the build fails, with the failure in the streamed log', async () => {
    const g = sources.git({ name: 'bbwait-fail', variant: 'fail', distribution: suite });
    const r = await cli(['submit', '--git', g.uri, '--ref', g.commit, '--wait'], env, { timeoutMs: 300_000 });
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(1);
    expect(r.stdout).toContain(`buildbox-test: failing on purpose ${g.marker}`);
    expect(r.stderr).toMatch(/job \d+ \(\S+\): Failed/);
  });
});
