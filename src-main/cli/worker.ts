// `buildbox worker`: a standalone buildd that takes pyBit BuildRequests from RabbitMQ (or from a
// `box` parent's embedded queue) and reports to a Buildbox or pyBit controller.
import { Command, Option } from 'commander';
import { mkdirSync } from 'node:fs';
import { createBackend } from '../../src-worker/backends/index';
import { AmqpConsumer } from '../../src-worker/amqp-consumer';
import { IpcConsumer } from '../../src-worker/ipc-consumer';
import { QueueHeldError, type JobTransport } from '../../src-worker/job-transport';
import { ConfigError, resolveWorkerConfig, type WorkerFlags } from '../../src-worker/worker-config';
import { WorkerService } from '../../src-worker/worker-service';

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
    .action(async (flags: WorkerFlags) => {
      let cfg;
      try {
        cfg = resolveWorkerConfig(flags);
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`buildbox worker: ${e.message}\n`);
          process.exit(2);
        }
        throw e;
      }
      mkdirSync(cfg.buildroot, { recursive: true });
      const say = (line: string) => process.stdout.write(`[worker ${cfg.clientName}] ${line}\n`);
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
        `ready: ${cfg.slots} slot(s), backend ${cfg.backend}${cfg.backend === 'dpkg' ? ' (host build, no isolation)' : ''}, ` +
          `${cfg.dist}/${cfg.arch}/${cfg.format} suites ${cfg.suites.join(', ')}, controller ${cfg.controller ?? "from each message's web_host"}`,
      );
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        say(`received ${sig}: stopping (running builds are handed back)`);
        service.stop().then(
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
