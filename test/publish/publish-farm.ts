// A publishing farm for end-to-end tests: a controller in this process with publishing on and a
// throwaway GnuPG signing key, the test's own suite mapped to the host architecture, a git source
// server and a real `buildbox worker --backend dpkg` process over RabbitMQ.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startController, type Controller } from '../../src-main/controller/controller';
import { hashToken, newToken } from '../../src-main/controller/auth/passwords';
import { nowText } from '../../src-main/controller/db/time';
import { buildQueueName } from '../../src-shared/pybit-models';
import { AMQP_TEST_URL, uniqueName } from '../helpers/db';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { Broker, startWorker, stopAll, type Proc } from '../worker-e2e/harness';
import { SourceServer } from '../worker-e2e/sources';

const ADMIN_PASSWORD = 'publish-farm-admin';
const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;

export interface PublishFarm {
  ctl: Controller;
  /** The farm's temp dir: the controller's data is under `data/`, GnuPG's home under `gnupg/`. */
  root: string;
  gnupgHome: string;
  /** The signing key's fingerprint. */
  keyId: string;
  suite: string;
  sources: SourceServer;
  worker: Proc;
  /** An admin request (form body when given). */
  call(method: string, path: string, form?: Record<string, string>): Promise<Response>;
  /** The same, throwing on anything but 2xx; returns the body. */
  ok(method: string, path: string, form?: Record<string, string>): Promise<string>;
  /** gpg --batch with the farm's GnuPG home. */
  gpg(args: string[]): Buffer;
  close(): Promise<void>;
}

export async function startPublishFarm(o: { dirs: ReturnType<typeof tempDirs>; label: string }): Promise<PublishFarm> {
  const root = o.dirs.make(`bb-${o.label}-`);
  const gnupgHome = join(root, 'gnupg');
  mkdirSync(gnupgHome, { mode: 0o700 });
  const gpg = (args: string[]) => execFileSync('gpg', ['--batch', ...args], { env: { ...process.env, GNUPGHOME: gnupgHome }, stdio: ['ignore', 'pipe', 'pipe'] });
  gpg(['--passphrase', '', '--quick-gen-key', `Buildbox ${o.label} test <${o.label}@buildbox.invalid>`, 'default', 'default', 'never']);
  const keyId = /^fpr:+([0-9A-F]+):/m.exec(gpg(['--with-colons', '--list-secret-keys']).toString())![1]!;
  const suite = uniqueName(`bb${o.label.replace(/[^a-z]/g, '').slice(0, 6)}`);

  const ctl = await startController({
    dataDir: join(root, 'data'),
    amqp: AMQP_TEST_URL,
    port: 0,
    adminPassword: ADMIN_PASSWORD,
    sweepIntervalMs: 250,
    logLevel: 'silent',
    publisher: { pollMs: 200, retryBaseMs: 200 },
    publish: true,
    signKey: keyId,
    gnupgHome,
    publishRetryBaseMs: 300,
  });
  const call = (method: string, path: string, form?: Record<string, string>) =>
    fetch(ctl.url + path, {
      method,
      headers: { authorization: basic, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
  const ok = async (method: string, path: string, form?: Record<string, string>) => {
    const r = await call(method, path, form);
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${text}`);
    return text;
  };

  const token = newToken();
  const db = ctl.ctx.db.kysely;
  await db.insertInto('tokens').values({ user_id: null, name: `${o.label} worker`, kind: 'worker', token_hash: hashToken(token), created_at: nowText(), revoked_at: null }).execute();
  await ok('POST', '/suite', { name: suite });
  if (!(await db.selectFrom('arch').select('id').where('name', '=', HOST_ARCH).executeTakeFirst())) await ok('POST', '/arch', { name: HOST_ARCH });
  const s = await db.selectFrom('suite').select('id').where('name', '=', suite).executeTakeFirstOrThrow();
  const a = await db.selectFrom('arch').select('id').where('name', '=', HOST_ARCH).executeTakeFirstOrThrow();
  await ok('POST', '/suitearch', { suite_id: String(s.id), arch_id: String(a.id), master_weight: '1' });

  const broker = await Broker.connect();
  const sources = await SourceServer.start(o.dirs.make(`bb-${o.label}-src-`));
  const worker = startWorker({ clientId: uniqueName('pubw'), suite, arch: HOST_ARCH, buildroot: o.dirs.make(`bb-${o.label}-root-`), controller: ctl.url, token });
  await worker.waitFor(/ready:/);
  return {
    ctl,
    root,
    gnupgHome,
    keyId,
    suite,
    sources,
    worker,
    call,
    ok,
    gpg,
    async close() {
      await stopAll();
      await ctl.close();
      await broker.deleteQueue(buildQueueName('Debian', HOST_ARCH, suite, 'deb'));
      await broker.close();
      await sources.close();
    },
  };
}
