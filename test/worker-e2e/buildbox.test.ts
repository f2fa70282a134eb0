// A worker process against a real Buildbox controller (/api/v1): claim, lease, log streaming,
// artifacts, results, DEPFAIL retry, cancel — over real RabbitMQ, with real dpkg builds.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactInfo } from '../../src-shared/worker-api';
import { startWorkerFarm, type WorkerFarm } from '../helpers/worker-farm';
import { HOST_ARCH, processesMatching } from '../worker/helpers';
import { until } from './harness';
import type { TestController } from './controller-harness';
import { SourceServer } from './sources';

let farm: WorkerFarm;
let ctl: TestController;
let sources: SourceServer;
let suite: string;
let clientId: string;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  farm = await startWorkerFarm({ label: 'bbox' });
  ({ ctl, sources, suite } = farm);
  clientId = farm.workers[0]!.clientId;
});

afterAll(() => farm?.close());

describe('worker with a Buildbox controller', () => {
  it('builds a git source to Done, streams the log and uploads artifacts whose SHA-256 match the .changes', async () => {
    const g = sources.git({ name: 'bbe2e-ok', variant: 'ok' });
    const id = await ctl.submit({ ...g, method: 'git', uri: g.uri, vcsId: g.commit, suite, arch: HOST_ARCH });
    const j = await ctl.waitFinal(id);
    expect(j.status).toBe('Done');
    expect(j.result).toBe('OK');
    expect(j.client).toBe(`build_client_${clientId}`);
    expect(j.history).toEqual(['Waiting', 'Building', 'Done']);

    const arts = await ctl.json<ArtifactInfo[]>(`/api/v1/jobs/${id}/artifacts`);
    const byName = new Map(arts.map((a) => [a.name, a]));
    const changesName = `${g.name}_${g.version}_${HOST_ARCH}.changes`;
    expect(byName.has(changesName)).toBe(true);
    // Every file the .changes lists is there, with the checksum the .changes gives, and the
    // bytes served hash to it.
    const changes = (await ctl.bytes(byName.get(changesName)!.url)).toString();
    const listed = [...changes.split(/^Checksums-Sha256:\n/m)[1].matchAll(/^ ([0-9a-f]{64}) \d+ (\S+)$/gm)].map((m) => ({ sha: m[1], name: m[2] }));
    expect(listed.some((f) => f.name.endsWith('.deb'))).toBe(true);
    expect(listed.some((f) => f.name.endsWith('.buildinfo'))).toBe(true);
    for (const f of listed) {
      const a = byName.get(f.name);
      expect(a, f.name).toBeDefined();
      expect(a!.sha256).toBe(f.sha);
      expect(sha256(await ctl.bytes(a!.url))).toBe(f.sha);
    }
    // The build log, streamed to the controller, holds the build's own output.
    const log = (await ctl.bytes(`/api/v1/jobs/${id}/log?offset=0&length=10000000`)).toString();
    expect(log).toContain(`buildbox-test: building ${g.marker}`);
    expect(log).toContain('Result: OK');
    // ... and is also stored as an artifact.
    expect(arts.some((a) => a.name.startsWith(`${g.name}_${g.version}-${HOST_ARCH}-`))).toBe(true);
  });

  it('builds a .dsc URL source to Done', async () => {
    const d = sources.dsc({ name: 'bbe2e-dsc', variant: 'ok' });
    const id = await ctl.submit({ ...d, method: 'dsc', uri: d.uri, suite, arch: HOST_ARCH });
    const j = await ctl.waitFinal(id);
    expect([j.status, j.result]).toEqual(['Done', 'OK']);
  });

  it('a failing package ends Failed with PACKAGEFAIL', async () => {
    const g = sources.git({ name: 'bbe2e-fail', variant: 'fail' });
    const id = await ctl.submit({ ...g, method: 'git', uri: g.uri, vcsId: g.commit, suite, arch: HOST_ARCH });
    const j = await ctl.waitFinal(id);
    expect([j.status, j.result]).toEqual(['Failed', 'PACKAGEFAIL']);
    const log = (await ctl.bytes(`/api/v1/jobs/${id}/log?offset=0&length=10000000`)).toString();
    expect(log).toContain(`failing on purpose ${g.marker}`);
  });

  it('an unsatisfiable build-dependency is Blocked with DEPFAIL naming it, and Done once the requirement is gone', async () => {
    const dep = `bbtest-missing-${suite.toLowerCase().replace(/_/g, '-')}`;
    const g = sources.git({ name: 'bbe2e-dep', variant: 'depfail', buildDepends: `${dep} (>= 2.0)` });
    // No vcs_id: every attempt builds the branch head.
    const id = await ctl.submit({ ...g, method: 'git', uri: g.uri, vcsId: null, suite, arch: HOST_ARCH });
    await until(async () => (await ctl.job(id)).status === 'Blocked', 200);
    const blocked = await ctl.job(id);
    expect(blocked.result).toBe('DEPFAIL');
    expect(blocked.details).toContain(dep);
    SourceServer.dropBuildDepends(g);
    const j = await ctl.waitFinal(id);
    expect([j.status, j.result]).toEqual(['Done', 'OK']);
    expect(j.history.filter((s) => s === 'Blocked').length).toBeGreaterThanOrEqual(1);
  });

  it('cancel mid-build kills the whole process tree and ends Cancelled; the worker goes on building', async () => {
    const g = sources.git({ name: 'bbe2e-sleep', variant: 'sleep' });
    const id = await ctl.submit({ ...g, method: 'git', uri: g.uri, vcsId: g.commit, suite, arch: HOST_ARCH });
    await until(() => processesMatching(g.marker).length > 0);
    const r = await ctl.call('GET', `/job/${id}/cancel`);
    expect(r.status).toBe(202);
    const j = await ctl.waitFinal(id);
    expect(j.status).toBe('Cancelled');
    expect(j.result).toBe('ABORTED');
    await until(() => processesMatching(g.marker).length === 0);

    const ok = sources.git({ name: 'bbe2e-after-cancel', variant: 'ok' });
    const next = await ctl.submit({ ...ok, method: 'git', uri: ok.uri, vcsId: ok.commit, suite, arch: HOST_ARCH });
    expect((await ctl.waitFinal(next)).status).toBe('Done');
  });
});
