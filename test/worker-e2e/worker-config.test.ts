// `buildbox worker` configured the pyBit way: a client.conf JSON file (spec/pybit.md §1.3),
// flags over file values, and clear refusals of bad settings.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildQueueName } from '../../src-shared/pybit-models';
import { resolveWorkerConfig } from '../../src-worker/worker-config';
import { makeBuildRequest } from '../fixtures/build-request';
import { AMQP_TEST_URL, uniqueName } from '../helpers/db';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { Broker, runCli, stopAll, until, withWebHost } from './harness';
import { startPybitEndpoint } from './pybit-endpoint';

const dirs = tempDirs();
const queues: string[] = [];
afterEach(() => stopAll());
afterAll(async () => {
  const b = await Broker.connect();
  for (const q of queues) await b.deleteQueue(q);
  await b.close();
  dirs.cleanup();
});

function writeConf(conf: Record<string, unknown>): string {
  const file = join(dirs.make('bb-conf-'), 'client.conf');
  writeFileSync(file, JSON.stringify(conf));
  return file;
}

/** A passive declare of an exclusive queue held by another connection fails with 405 RESOURCE_LOCKED. */
async function heldElsewhere(queue: string): Promise<boolean> {
  const conn = await amqp.connect(AMQP_TEST_URL);
  conn.on('error', () => {});
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await ch.checkQueue(queue);
    return false;
  } catch (e) {
    return (e as { code?: number }).code === 405;
  } finally {
    await conn.close().catch(() => {});
  }
}

describe('worker configuration', () => {
  it('reads a pyBit client.conf: declares one queue per suite, holds build_client_<clientid>, dry_run builds nothing', async () => {
    const [s1, s2] = [uniqueName('conf'), uniqueName('conf')];
    const clientid = uniqueName('cc');
    queues.push(buildQueueName('Debian', HOST_ARCH, s1, 'deb'), buildQueueName('Debian', HOST_ARCH, s2, 'deb'));
    const u = new URL(AMQP_TEST_URL);
    const conf = writeConf({
      clientid,
      host_arch: HOST_ARCH,
      distribution: 'Debian',
      pkg_format: 'deb',
      suites: [s1, s2],
      buildroot: dirs.make('bb-conf-root-'),
      host: `${u.hostname}:${u.port || 5672}`,
      userid: decodeURIComponent(u.username || 'guest'),
      password: decodeURIComponent(u.password || 'guest'),
      vhost: '/',
      dry_run: true,
      poll_time: 60,
      use_lvm: true,
    });
    const w = runCli(['worker', '--config', conf]);
    await w.waitFor(/ready:/);
    expect(w.lines.join('\n')).toContain('backend dry-run');
    const b = await Broker.connect();
    try {
      expect(await b.messageCount(buildQueueName('Debian', HOST_ARCH, s1, 'deb'))).toBe(0);
      expect(await b.messageCount(buildQueueName('Debian', HOST_ARCH, s2, 'deb'))).toBe(0);
      expect(await heldElsewhere(`build_client_${clientid}`)).toBe(true);

      // A job on the second suite goes through pyBit's protocol without building anything.
      const web = await startPybitEndpoint();
      try {
        web.setStatus(7, 'Waiting');
        const req = withWebHost(makeBuildRequest({ jobId: 7, package: 'bbconf-dry', version: '1.0', arch: HOST_ARCH, suite: s2, method: 'git', uri: 'http://127.0.0.1:9/none.git' }), web.webHost);
        await b.publishBuild(req);
        await until(() => web.puts.length >= 2);
        expect(web.puts.map((p) => p.status)).toEqual(['Building', 'Done']);
      } finally {
        await web.close();
      }
    } finally {
      await b.close();
    }
    await w.stop();
    // The exclusive command queue goes with the worker's connection.
    await until(async () => !(await heldElsewhere(`build_client_${clientid}`)));
  });

  it('flags win over the file; the file fills in the rest', () => {
    const conf = writeConf({ clientid: 'fromfile', host_arch: 'armhf', suites: ['a', 'b'], distribution: 'Debian', pkg_format: 'deb', debsignkey: 'ABCD', dput_dest: 'local' });
    const c = resolveWorkerConfig({ config: conf, suite: ['x'], clientId: 'fromflag', backend: 'dpkg' }, {});
    expect(c.clientName).toBe('build_client_fromflag');
    expect(c.suites).toEqual(['x']);
    expect(c.arch).toBe('armhf');
    expect(c.debsignKey).toBe('ABCD');
    expect(c.dputDest).toBe('local');
    expect(c.backend).toBe('dpkg');
    expect(c.slots).toBe(1);
  });

  it('sbuild looks for chroot tarballs where `buildbox chroot create` makes them unless told otherwise', () => {
    expect(resolveWorkerConfig({}, { BUILDBOX_CHROOTS: '/srv/chroots' }).chrootsDir).toBe('/srv/chroots');
    expect(resolveWorkerConfig({}, { XDG_CACHE_HOME: '/var/cache/u' }).chrootsDir).toBe('/var/cache/u/sbuild');
    expect(resolveWorkerConfig({ chroots: '/flag' }, { BUILDBOX_CHROOTS: '/srv/chroots' }).chrootsDir).toBe('/flag');
    expect(resolveWorkerConfig({ config: writeConf({ chroots: '/file' }) }, { BUILDBOX_CHROOTS: '/srv/chroots' }).chrootsDir).toBe('/file');
  });

  it('says at start which suites have no chroot tarball for the sbuild backend', async () => {
    const chroots = dirs.make('bb-chroots-');
    const [have, missing] = [uniqueName('have').replace(/_/g, '-'), uniqueName('missing').replace(/_/g, '-')];
    writeFileSync(join(chroots, `${have}-${HOST_ARCH}.tar.zst`), '');
    const clientId = uniqueName('chrootwarn');
    queues.push(...[have, missing].map((s) => buildQueueName('Debian', HOST_ARCH, s, 'deb')));
    const w = runCli(['worker', '--backend', 'sbuild', '--suite', have, '--suite', missing, '--chroots', chroots, '--client-id', clientId, '--amqp', AMQP_TEST_URL]);
    await w.waitFor(/ready: /);
    const out = w.lines.join('\n');
    expect(out).toContain(`no chroot tarball for ${missing}/${HOST_ARCH} in ${chroots}: its builds end CHROOTFAIL until one is made ('buildbox chroot create --suite ${missing} --arch ${HOST_ARCH} --chroots ${chroots}')`);
    expect(out).not.toContain(`no chroot tarball for ${have}/`);
    expect(out).toContain(`backend sbuild (chroots in ${chroots})`);
  });

  it.each([
    [{ suite: 'unstable' }, [], /"suite" is no longer accepted, use "suites"/],
    [{ configured: false }, [], /configured/],
    [{}, ['--slots', '0'], /--slots must be an integer 1\.\.64/],
    [{}, ['--backend', 'chroot'], /--backend must be one of/],
    [{}, ['--controller', 'ftp://x'], /--controller must be an http\(s\) URL/],
    [{ suites: 'unstable' }, [], /suites/],
  ])('refuses %j %j with a message naming the problem', async (conf, flags, message) => {
    const w = runCli(['worker', '--config', writeConf(conf), ...flags, '--amqp', 'amqp://127.0.0.1:1/']);
    const { code } = await w.exited;
    expect(code).toBe(2);
    expect(w.lines.join('\n')).toMatch(message);
  });
});
