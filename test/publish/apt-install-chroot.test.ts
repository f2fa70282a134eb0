// The issue's own end-to-end requirement: "apt-get update && apt-get install <built package>"
// works against the controller's /repo/ from a fresh chroot. A real controller publishes with a
// throwaway signing key, a real `buildbox worker --backend dpkg` builds a generated package to
// Done, then mmdebstrap makes a fresh Debian chroot (from the Debian mirror) whose own apt,
// trusting only that key, updates from /repo/ and installs the package. The chroot is written
// as a tarball in the test's temp dir (no root-owned tree left behind) and read from there.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../src-main/controller/controller';
import { hasCommand } from '../hooks/helpers';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { until } from '../worker-e2e/harness';
import type { SourceServer } from '../worker-e2e/sources';
import { startPublishFarm, type PublishFarm } from './publish-farm';

// The controller runs in this process: commands that talk to it must not block the event loop.
const run = promisify(execFile);
const HAVE_MMDEBSTRAP = hasCommand('mmdebstrap');
if (!HAVE_MMDEBSTRAP) console.warn('skipping apt-get install from a fresh chroot: mmdebstrap is not installed (apt-get install mmdebstrap)');
const MIRROR = process.env.BUILDBOX_TEST_MIRROR || 'http://deb.debian.org/debian';
const CHROOT_SUITE = process.env.BUILDBOX_TEST_SUITE ?? 'bookworm';

const dirs = tempDirs();
const pkgName = `bbaptc-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
let farm: PublishFarm;
let ctl: Controller;
let sources: SourceServer;
let keyId: string;
let root: string;
let suite: string;
const gpg = (args: string[]) => farm.gpg(args);

/** Progress on stderr with BUILDBOX_TEST_VERBOSE set: the steps here take tens of seconds. */
function note(what: string): void {
  if (process.env.BUILDBOX_TEST_VERBOSE) process.stderr.write(`${new Date().toISOString().slice(11, 23)} apt-install-chroot: ${what}\n`);
}

describe.skipIf(!HAVE_MMDEBSTRAP)('apt-get install from a fresh chroot', () => {
  beforeAll(async () => {
    farm = await startPublishFarm({ dirs, label: 'aptchroot' });
    ({ ctl, sources, keyId, root, suite } = farm);
  }, 120_000);

  afterAll(async () => {
    await farm?.close();
    dirs.cleanup();
  });

  it('a package built to Done installs with apt-get in a fresh chroot that trusts only the repository key', async () => {
    const g = sources.git({ name: pkgName, version: '1.2', variant: 'ok' });
    const job = { id: await farm.submitGit(g) };
    note(`queued ${pkgName} as job ${job.id}`);
    const finished = async () => (await ctl.ctx.db.kysely.selectFrom('job').select(['status', 'result_details']).where('id', '=', job.id).executeTakeFirstOrThrow());
    await until(async () => ['Done', 'Failed', 'Cancelled'].includes((await finished()).status), 250);
    const built = await finished();
    expect(built.status, built.result_details ?? '').toBe('Done');
    // Published: the repository's listing names it.
    await until(async () => {
      const r = await fetch(`${ctl.url}/api/v1/repo/Debian`);
      if (r.status !== 200) return false;
      const listing = (await r.json()) as { suites: Record<string, Array<{ package: string }>> };
      return (listing.suites[suite] ?? []).some((e) => e.package === pkgName);
    }, 250);

    note('published; running mmdebstrap');
    // The chroot's apt knows the repository only through this key, placed inside the chroot.
    const key = join(root, 'buildbox-repo.gpg');
    writeFileSync(key, gpg(['--export', keyId]));
    const line = `deb [signed-by=/etc/apt/keyrings/buildbox-repo.gpg] ${ctl.url}/repo/Debian ${suite} main`;
    const tarball = join(root, 'chroot.tar');
    const out = await run(
      'mmdebstrap',
      [
        '--variant=apt',
        `--arch=${HOST_ARCH}`,
        '--customize-hook=mkdir -p "$1/etc/apt/keyrings"',
        `--customize-hook=upload ${key} /etc/apt/keyrings/buildbox-repo.gpg`,
        `--customize-hook=echo '${line}' > "$1/etc/apt/sources.list.d/buildbox.list"`,
        '--customize-hook=chroot "$1" apt-get update',
        `--customize-hook=chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y ${pkgName}`,
        CHROOT_SUITE,
        tarball,
        MIRROR,
      ],
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C.UTF-8' } },
    ).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`mmdebstrap failed: ${e.message}\n${(e.stdout ?? '').slice(-3000)}\n${(e.stderr ?? '').slice(-6000)}`);
    });
    const said = out.stdout + out.stderr;
    expect(said).toMatch(new RegExp(`Get:\\d+ ${ctl.url}/repo/Debian ${suite}/main ${HOST_ARCH} ${pkgName} ${HOST_ARCH} ${g.version.replace(/\./g, '\\.')}`));
    expect(said).toContain(`Setting up ${pkgName} (${g.version})`);
    expect(said).not.toMatch(/NO_PUBKEY|not signed|is not signed|insecure/i);

    // What the chroot holds: the package's file with its content, and dpkg's record of it.
    const readme = (await run('tar', ['-xOf', tarball, `./usr/share/doc/${pkgName}/README`])).stdout;
    expect(readme).toBe(`Buildbox test package ${pkgName} ${g.version}\n`);
    const dpkgStatus = (await run('tar', ['-xOf', tarball, './var/lib/dpkg/status'], { maxBuffer: 64 * 1024 * 1024 })).stdout;
    const para = dpkgStatus.split('\n\n').find((p) => p.startsWith(`Package: ${pkgName}\n`));
    expect(para).toBeDefined();
    expect(para).toContain('Status: install ok installed');
    expect(para).toContain(`Version: ${g.version}`);
  }, 600_000);
});
