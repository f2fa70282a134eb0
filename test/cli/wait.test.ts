// `buildbox submit --wait` with a real worker process building real packages over RabbitMQ:
// the log streams to stdout, a progress line goes to stderr, and the exit status says whether
// every job succeeded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/db';
import { startWorkerFarm, type WorkerFarm } from '../helpers/worker-farm';
import type { SourceServer } from '../worker-e2e/sources';
import { cli, userToken } from './helpers';

let farm: WorkerFarm;
let sources: SourceServer;
let env: NodeJS.ProcessEnv;
const suite = uniqueName('cliwait').replace(/_/g, '-');

beforeAll(async () => {
  farm = await startWorkerFarm({ label: 'cliwait', suite });
  sources = farm.sources;
  env = { BUILDBOX_URL: farm.ctl.url, BUILDBOX_TOKEN: await userToken(farm.ctl.c) };
});

afterAll(() => farm?.close());

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
