// `buildbox worker`: a standalone buildd that takes pyBit BuildRequests from RabbitMQ (or from a
// `box` parent's embedded queue) and reports to a Buildbox or pyBit controller; with `--xmlrpc` it
// also (or, with `--no-amqp`, only) serves launchpad-buildd's XML-RPC face for a buildd-manager.
import { Command, Option } from 'commander';
import { mkdirSync } from 'node:fs';
import { createBackend } from '../../src-worker/backends/index';
import { AmqpConsumer } from '../../src-worker/amqp-consumer';
import { IpcConsumer } from '../../src-worker/ipc-consumer';
import { QueueHeldError, type JobTransport } from '../../src-worker/job-transport';
import { ConfigError, resolveWorkerConfig, type WorkerFlags } from '../../src-worker/worker-config';
import { WorkerService } from '../../src-worker/worker-service';
import { startLpBuilder, type LpBuilderServer } from '../../src-worker/lp-builder/server';
import { xmlrpcFaceOptions, type XmlRpcFlags } from '../../src-worker/xmlrpc-face';
import { defaultChrootsDir, findChroot } from '../../src-worker/chroots';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a build worker (buildd): consume jobs from RabbitMQ, build them, report to the controller')
    .option('--config <file>', "JSON config file; accepts pyBit client.conf keys (clientid, host_arch, suites, host, userid, ...)")
    .addOption(new Option('--controller <url>', "controller base URL (default: each message's web_host, as pyBit does)").env('BUILDBOX_CONTROLLER'))
    .addOption(new Option('--token <token>', 'worker token for the controller').env('BUILDBOX_WORKER_TOKEN'))
    .addOption(new Option('--amqp <url>', 'RabbitMQ URL (default amqp://guest:guest@127.0.0.1:5672/)').env('BUILDBOX_AMQP'))
    .option('--client-id <id>', 'client id: the command queue is build_client_<id> (default: host name)')
    .option('--arch <arch>', 'architecture to build (default: dpkg --print-architecture)')
    .option('--dist <dist>', 'distribution (default Debian)')
    .option('--format <format>', 'package format (default deb)')
    .option('--suite <suite>', 'suite to build for (repeatable; default unstable)', collect)
    .option('--buildroot <dir>', 'work directory: logs and per-job workspaces')
    .option('--backend <name>', 'sbuild, dpkg (host build, no isolation) or dry-run')
    .option('--chroots <dir>', 'directory of sbuild chroot tarballs (see `buildbox chroot`)')
    .option('--slots <n>', 'builds at a time (default 1)')
    .option('--mirror <url>', 'apt mirror for apt fetches that name none')
    .option('--dput <target>', "pyBit's dput option/host argument (default -U)")
    .option('--dput-dest <host>', 'dput host to upload results to (default: no dput upload)')
    .option('--dput-config <file>', 'dput configuration file (dput -c)')
    .option('--debsign-key <key>', 'sign the .changes with debsign -k<key> before dput')
    .option('--dry-run', 'log fetch commands instead of running them')
    .option('--heartbeat-seconds <n>', 'heartbeat period while building (default 10, at most a third of the lease)')
    .option('--kill-timeout-seconds <n>', 'grace after SIGINT before SIGTERM when stopping a build (default 30)')
    .option('--no-amqp', 'take no jobs from RabbitMQ (with --xmlrpc: be a launchpad-buildd builder only)')
    .option('--xmlrpc [address]', 'serve the launchpad-buildd XML-RPC face on [HOST:]PORT (default 127.0.0.1:8221)')
    .option('--filecache <dir>', 'file cache of the XML-RPC face (default <buildroot>/filecache)')
    .option('--arch-tag <arch>', 'architecture the XML-RPC face reports in info() (default --arch)')
    .option('--prep-command <cmd>', "shell command run before each XML-RPC build (launchpad-buildd's builder-prep hook)")
    .option('--control-fifo <path>', 'FIFO driving --backend scripted (a test backend: builds end on command)')
    .option('--legacy-status', 'XML-RPC status() answers the pre-2013 tuple forms')
    .action(async (allFlags: Omit<WorkerFlags, 'amqp'> & XmlRpcFlags & { amqp?: string | false }) => {
      // `--no-amqp` sets amqp to false; the config resolver only knows URLs.
      const useAmqp = allFlags.amqp !== false;
      const flags: WorkerFlags = { ...allFlags, amqp: allFlags.amqp === false ? undefined : allFlags.amqp };
      let cfg;
      let faceOpts = null;
      try {
        cfg = resolveWorkerConfig(flags);
        if (!useAmqp && allFlags.xmlrpc === undefined) throw new ConfigError('--no-amqp leaves nothing to do without --xmlrpc');
        if (useAmqp && cfg.backend === 'scripted') throw new ConfigError('--backend scripted drives XML-RPC builds only: add --no-amqp');
        if (allFlags.xmlrpc !== undefined) {
          faceOpts = xmlrpcFaceOptions(allFlags, { ...cfg, version: process.env.npm_package_version || undefined });
        } else {
          const stray = (['filecache', 'archTag', 'prepCommand', 'controlFifo', 'legacyStatus'] as const).filter((k) => allFlags[k] !== undefined);
          if (stray.length) throw new ConfigError(`--${stray[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --xmlrpc`);
        }
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`buildbox worker: ${e.message}\n`);
          process.exit(2);
        }
        throw e;
      }
      mkdirSync(cfg.buildroot, { recursive: true });
      const say = (line: string) => process.stdout.write(`[worker ${cfg.clientName}] ${line}\n`);
      if (useAmqp && cfg.backend === 'sbuild' && !cfg.dryRun) {
        // Said at start rather than learnt from the first build that ends CHROOTFAIL.
        for (const suite of cfg.suites) {
          if (findChroot(cfg.chrootsDir, { suite, arch: cfg.arch })) continue;
          const where = cfg.chrootsDir === defaultChrootsDir() ? '' : ` --chroots ${cfg.chrootsDir}`;
          say(`no chroot tarball for ${suite}/${cfg.arch} in ${cfg.chrootsDir}: its builds end CHROOTFAIL until one is made ('buildbox chroot create --suite ${suite} --arch ${cfg.arch}${where}')`);
        }
      }
      let face: LpBuilderServer | null = null;
      if (faceOpts) {
        try {
          face = await startLpBuilder({ ...faceOpts, log: (line) => say(`xmlrpc: ${line}`) });
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          process.stderr.write(`buildbox worker: cannot serve XML-RPC on ${faceOpts.host}:${faceOpts.port}: ${err.code ?? ''} ${err.message}\n`);
          process.exit(2);
        }
      }
      const faceNote = face && faceOpts ? `XML-RPC builder ${face.url}/rpc (arch ${faceOpts.archTag}, file cache ${faceOpts.cacheDir})` : '';
      const stopFace = async () => {
        await face?.close();
      };
      if (!useAmqp) {
        say(`ready: ${faceNote} only, backend ${cfg.backend}${cfg.backend === 'dpkg' ? ' (host build, no isolation)' : ''}`);
        let stoppingFace = false;
        const stopOnly = (sig: string) => {
          if (stoppingFace) return;
          stoppingFace = true;
          say(`received ${sig}: stopping (a running XML-RPC build is abandoned)`);
          stopFace().then(
            () => process.exit(0),
            (e: unknown) => {
              process.stderr.write(`error while stopping: ${String(e)}\n`);
              process.exit(1);
            },
          );
        };
        process.on('SIGTERM', () => stopOnly('SIGTERM'));
        process.on('SIGINT', () => stopOnly('SIGINT'));
        return;
      }
      const transport: JobTransport =
        cfg.amqp === 'ipc:'
          ? new IpcConsumer({ clientName: cfg.clientName, queues: cfg.suites.map((s) => ({ dist: cfg.dist, arch: cfg.arch, suite: s, format: cfg.format })), log: say })
          : new AmqpConsumer({ url: cfg.amqp, dist: cfg.dist, arch: cfg.arch, format: cfg.format, suites: cfg.suites, clientName: cfg.clientName, log: say });
      const backend = createBackend(cfg.backend, { kill: { afterInterruptMs: cfg.killAfterInterruptMs, afterTerminateMs: cfg.killAfterTerminateMs } });
      const service = new WorkerService({ config: cfg, transport, backend, log: say, version: process.env.npm_package_version });
      try {
        await service.start();
      } catch (e) {
        if (e instanceof QueueHeldError) {
          process.stderr.write(`buildbox worker: ${e.message}\n`);
          process.exit(3);
        }
        throw e;
      }
      say(
        `ready: ${cfg.slots} slot(s), backend ${cfg.backend}${cfg.backend === 'dpkg' ? ' (host build, no isolation)' : cfg.backend === 'sbuild' ? ` (chroots in ${cfg.chrootsDir})` : ''}, ` +
          `${cfg.dist}/${cfg.arch}/${cfg.format} suites ${cfg.suites.join(', ')}, controller ${cfg.controller ?? "from each message's web_host"}` +
          (faceNote ? `; ${faceNote}` : ''),
      );
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        say(`received ${sig}: stopping (running builds are handed back)`);
        Promise.all([service.stop(), stopFace()]).then(
          () => process.exit(0),
          (e: unknown) => {
            process.stderr.write(`error while stopping: ${String(e)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      // A box parent that goes away takes its worker with it.
      if (cfg.amqp === 'ipc:') process.on('disconnect', () => stop('disconnect'));
    });
}
