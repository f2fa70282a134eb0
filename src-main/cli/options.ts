// Flags that every command shares, each also readable from an environment variable.
import { Command, Option } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDataDir(): string {
  return process.env.BUILDBOX_DATA_DIR || join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'buildbox');
}

export function addControllerOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--db <url>', 'SQLite file path or postgres:// URL (default <data-dir>/buildbox.db)').env('BUILDBOX_DB'))
    .addOption(new Option('--amqp <url>', 'RabbitMQ URL').env('BUILDBOX_AMQP').default('amqp://guest:guest@127.0.0.1:5672/'))
    .addOption(new Option('--no-amqp', 'run without a broker'))
    .addOption(new Option('--host <host>', 'address to bind').env('BUILDBOX_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0 = any free port)').env('BUILDBOX_PORT').default('8080'))
    .addOption(new Option('--data-dir <dir>', 'where the database, logs and files live').env('BUILDBOX_DATA_DIR'))
    .addOption(new Option('--public-host <host:port>', 'web_host put into messages for workers (default: the bound address)').env('BUILDBOX_PUBLIC_HOST'))
    .addOption(new Option('--lease-seconds <n>', 'how long a worker claim lasts without a heartbeat').env('BUILDBOX_LEASE_SECONDS').default('60'))
    .addOption(new Option('--scan-interval <seconds>', 'how often Launchpad-style builders are scanned (0 = never)').env('BUILDBOX_SCAN_INTERVAL').default('5'))
    .addOption(new Option('--publish', 'publish Done jobs into apt repositories served at /repo/').env('BUILDBOX_PUBLISH'))
    .addOption(new Option('--sign-key <keyid>', 'GnuPG key that signs .changes/.dsc (debsign) and the repositories').env('BUILDBOX_SIGN_KEY'))
    .addOption(new Option('--gnupg-home <dir>', 'GnuPG home holding the signing key (default: $GNUPGHOME)'))
    .addOption(new Option('--sample-data', "add pyBit's sample arches, suites and environments"))
    .addOption(new Option('--log-level <level>', 'debug, info, warn or silent').env('BUILDBOX_LOG_LEVEL').default('info'));
}

export interface ControllerFlags {
  db?: string;
  amqp: string | false;
  host: string;
  port: string;
  dataDir?: string;
  publicHost?: string;
  leaseSeconds: string;
  scanInterval: string;
  sampleData?: boolean;
  publish?: boolean;
  signKey?: string;
  gnupgHome?: string;
  logLevel: string;
}

export function parsePort(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be 0..65535, got '${s}'`);
  return n;
}
