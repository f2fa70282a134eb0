// `buildbox chroot create|list`: the chroot tarballs sbuild's unshare mode builds in, made with
// mmdebstrap and named `<name>-<arch>.tar.zst` (src-worker/chroots.ts).
import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { chrootName, createChrootTarball, defaultChrootsDir, listChroots } from '../../src-worker/chroots';
import { hostArch } from '../../src-worker/worker-config';

const WORD = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;

export function registerChroot(program: Command): void {
  const chroot = program.command('chroot').description('manage chroot tarballs for the sbuild backend');
  chroot
    .command('create')
    .description('make a chroot tarball with mmdebstrap')
    .requiredOption('--suite <suite>', 'Debian suite (codename) to bootstrap, e.g. bookworm')
    .option('--arch <arch>', 'architecture (default: dpkg --print-architecture)')
    .option('--mirror <url>', 'apt mirror (default: mmdebstrap\'s)')
    .option('--name <name>', 'file it under this chroot name (default: the suite; pyBit jobs look for <suite> or <env>-<suite>)')
    .option('--env <env>', 'build environment: the name becomes <env>-<suite>')
    .option('--chroots <dir>', 'directory of chroot tarballs (default ~/.cache/sbuild, what sbuild itself uses)')
    .option('--dry-run', 'show the command without running it')
    .action(async (o: { suite: string; arch?: string; mirror?: string; name?: string; env?: string; chroots?: string; dryRun?: boolean }) => {
      const arch = o.arch ?? hostArch();
      for (const [flag, v] of [['--suite', o.suite], ['--arch', arch], ['--name', o.name], ['--env', o.env]] as const) {
        if (v !== undefined && !WORD.test(v)) throw new Error(`${flag} is not a valid name: '${v}'`);
      }
      if (o.mirror !== undefined && !/^(https?|file):\/\//.test(o.mirror)) throw new Error(`--mirror must be an http(s):// or file:// URL, got '${o.mirror}'`);
      const dir = o.chroots ?? defaultChrootsDir();
      mkdirSync(dir, { recursive: true });
      const name = o.name ?? chrootName(o.suite, o.env);
      const log = { write: (t: string) => process.stdout.write(t) };
      const controller = new AbortController();
      const onSig = () => controller.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      const { result, chroot: made } = await createChrootTarball({ dir, suite: o.suite, name, arch, mirror: o.mirror, log, signal: controller.signal, dryRun: o.dryRun });
      if (result.spawnError) throw new Error(`cannot run mmdebstrap: ${result.spawnError} (install it with: apt-get install mmdebstrap)`);
      if (!result.ok) throw new Error(`mmdebstrap failed (${result.aborted ? 'interrupted' : `exit ${result.code}`})`);
      process.stdout.write(made ? `Created ${made.path}\n` : 'Dry run: nothing created\n');
    });
  chroot
    .command('list')
    .description('list chroot tarballs')
    .option('--chroots <dir>', 'directory of chroot tarballs (default ~/.cache/sbuild)')
    .action((o: { chroots?: string }) => {
      const dir = o.chroots ?? defaultChrootsDir();
      const all = listChroots(dir);
      if (all.length === 0) {
        process.stdout.write(`No chroot tarballs in ${dir} (make one with: buildbox chroot create --suite <suite>)\n`);
        return;
      }
      for (const c of all) process.stdout.write(`${c.name}\t${c.arch}\t${c.path}\n`);
    });
}
