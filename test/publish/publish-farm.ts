// A publishing farm for end-to-end tests: the worker farm (test/helpers/worker-farm.ts: controller
// in this process, the test's own suite, a source server and one `buildbox worker --backend dpkg`
// over RabbitMQ) with publishing on and a throwaway GnuPG signing key.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller } from '../../src-main/controller/controller';
import { uniqueName } from '../helpers/db';
import { startWorkerFarm } from '../helpers/worker-farm';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import type { Proc } from '../worker-e2e/harness';
import type { SourceServer } from '../worker-e2e/sources';

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
  /** pyBit's vcshook submission of a served git repository to the farm's suite; returns the job's id. */
  submitGit(g: { name: string; version: string; uri: string; commit: string }): Promise<number>;
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

  const farm = await startWorkerFarm({
    label: o.label,
    suite: uniqueName(`bb${o.label.replace(/[^a-z]/g, '').slice(0, 6)}`),
    clientPrefix: 'pubw',
    controller: { dataDir: join(root, 'data'), publish: true, signKey: keyId, gnupgHome, publishRetryBaseMs: 300 },
  });
  const { ctl, suite, sources, worker } = farm;
  return {
    ctl: ctl.c,
    root,
    gnupgHome,
    keyId,
    suite,
    sources,
    worker,
    call: (method, path, form) => ctl.request(method, path, form),
    ok: (method, path, form) => ctl.ok(method, path, form),
    submitGit: (g) => ctl.submit({ name: g.name, version: g.version, method: 'git', uri: g.uri, vcsId: g.commit, suite, arch: HOST_ARCH }),
    gpg,
    close: () => farm.close(),
  };
}
