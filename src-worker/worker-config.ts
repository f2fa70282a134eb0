// The worker's settings: command-line flags over a JSON config file over defaults. The file
// accepts pyBit's client.conf keys (spec/pybit.md §1.3) so an existing pyBit client's
// configuration works as it is; as in pyBit, a flag wins when it is given and non-empty.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { clientQueueName } from '@shared/pybit-models';
import { defaultChrootsDir } from './chroots';

export interface WorkerConfig {
  clientId: string;
  /** `build_client_<clientId>`: command queue, routing key and the name the controller records. */
  clientName: string;
  arch: string;
  dist: string;
  format: string;
  suites: string[];
  buildroot: string;
  backend: string;
  chrootsDir: string;
  slots: number;
  /** Controller base URL; when absent each message's web_host is used, as in pyBit. */
  controller?: string;
  token?: string;
  /** AMQP URL, or `ipc:` for the embedded queue of a `box` parent process. */
  amqp: string;
  dput?: string;
  dputDest?: string;
  dputConfig?: string;
  debsignKey?: string;
  dryRun: boolean;
  /** apt mirror for `apt` fetches when the transport URI names none. */
  mirror?: string;
  /** Heartbeat period; the controller's lease is several of these. */
  heartbeatMs: number;
  /** Process-group kill timings for cancel (SIGINT → SIGTERM → SIGKILL). */
  killAfterInterruptMs: number;
  killAfterTerminateMs: number;
}

/** pyBit client.conf keys plus Buildbox's own; unknown keys are allowed (pyBit ignores them too). */
const FileSchema = z.looseObject({
  clientid: z.union([z.string(), z.number()]).optional(),
  host_arch: z.string().optional(),
  distribution: z.string().optional(),
  pkg_format: z.string().optional(),
  suites: z.array(z.string()).optional(),
  suite: z.unknown().optional(),
  buildroot: z.string().optional(),
  host: z.string().optional(),
  port: z.union([z.string(), z.number()]).optional(),
  userid: z.string().optional(),
  password: z.string().optional(),
  vhost: z.string().optional(),
  dput: z.string().optional(),
  dput_dest: z.string().optional(),
  debsignkey: z.string().optional(),
  dry_run: z.boolean().optional(),
  configured: z.boolean().optional(),
  // Buildbox additions.
  controller: z.string().optional(),
  token: z.string().optional(),
  amqp: z.string().optional(),
  backend: z.string().optional(),
  chroots: z.string().optional(),
  slots: z.number().int().optional(),
  mirror: z.string().optional(),
});
export type WorkerConfigFile = z.infer<typeof FileSchema>;

export interface WorkerFlags {
  config?: string;
  controller?: string;
  token?: string;
  amqp?: string;
  clientId?: string;
  arch?: string;
  dist?: string;
  format?: string;
  suite?: string[];
  buildroot?: string;
  backend?: string;
  chroots?: string;
  slots?: string;
  mirror?: string;
  dput?: string;
  dputDest?: string;
  dputConfig?: string;
  debsignKey?: string;
  dryRun?: boolean;
  heartbeatSeconds?: string;
  killTimeoutSeconds?: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const WORD = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;
const BACKENDS = ['sbuild', 'dpkg', 'dry-run', 'scripted'];

export function readConfigFile(path: string): WorkerConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not JSON: ${(e as Error).message}`);
  }
  const parsed = FileSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new ConfigError(`config file ${path}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  if (parsed.data.suite !== undefined && parsed.data.suites === undefined) {
    // pyBit 0.4.1 turned `suite` into the list `suites` and rejects the old key; say so.
    throw new ConfigError(`config file ${path}: "suite" is no longer accepted, use "suites": ["..."]`);
  }
  if (parsed.data.configured === false) throw new ConfigError(`config file ${path} says "configured": false; configure the worker first`);
  return parsed.data;
}

export function hostArch(): string {
  try {
    return execFileSync('dpkg', ['--print-architecture'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return process.arch === 'x64' ? 'amd64' : process.arch;
  }
}

/** pyBit's AMQP settings (`host[:port]`, userid, password, vhost) as one URL. */
export function amqpUrlFromPybit(f: WorkerConfigFile): string | undefined {
  if (!f.host && !f.userid && !f.password && !f.vhost) return undefined;
  const host = f.host || 'localhost';
  const user = encodeURIComponent(f.userid ?? 'guest');
  const pass = encodeURIComponent(f.password ?? 'guest');
  const vhost = encodeURIComponent(f.vhost ?? '/');
  return `amqp://${user}:${pass}@${host}/${vhost}`;
}

const nonEmpty = (s: string | undefined | null): string | undefined => (s == null || s === '' ? undefined : s);

function positiveNumber(s: string | undefined, flag: string, dflt: number): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${flag} must be a positive number, got '${s}'`);
  return n;
}

export function resolveWorkerConfig(flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const file: WorkerConfigFile = flags.config ? readConfigFile(flags.config) : {};
  const clientId = nonEmpty(flags.clientId) ?? nonEmpty(file.clientid == null ? undefined : String(file.clientid)) ?? hostname().split('.')[0];
  const arch = nonEmpty(flags.arch) ?? nonEmpty(file.host_arch) ?? hostArch();
  const dist = nonEmpty(flags.dist) ?? nonEmpty(file.distribution) ?? 'Debian';
  const format = nonEmpty(flags.format) ?? nonEmpty(file.pkg_format) ?? 'deb';
  const suites = flags.suite?.length ? flags.suite : file.suites?.length ? file.suites : ['unstable'];
  const backend = nonEmpty(flags.backend) ?? nonEmpty(file.backend) ?? (file.dry_run ? 'dry-run' : 'sbuild');
  const slotsText = flags.slots ?? (file.slots !== undefined ? String(file.slots) : undefined);
  const slots = slotsText === undefined ? 1 : Number(slotsText);

  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(clientId)) throw new ConfigError(`--client-id must be letters, digits, '.', '_' or '-', got '${clientId}'`);
  for (const [what, v] of [['--arch', arch], ['--dist', dist], ['--format', format]] as const) {
    if (!WORD.test(v)) throw new ConfigError(`${what} is not a valid name: '${v}'`);
  }
  for (const s of suites) if (!WORD.test(s)) throw new ConfigError(`--suite is not a valid name: '${s}'`);
  if (!BACKENDS.includes(backend)) throw new ConfigError(`--backend must be one of ${BACKENDS.join(', ')}, got '${backend}'`);
  if (!Number.isInteger(slots) || slots < 1 || slots > 64) throw new ConfigError(`--slots must be an integer 1..64, got '${slotsText}'`);

  const controller = nonEmpty(flags.controller) ?? nonEmpty(file.controller) ?? nonEmpty(env.BUILDBOX_CONTROLLER);
  if (controller) {
    try {
      const u = new URL(controller);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new ConfigError(`--controller must be an http(s) URL, got '${controller}'`);
    }
  }
  const amqp = nonEmpty(flags.amqp) ?? nonEmpty(file.amqp) ?? amqpUrlFromPybit(file) ?? nonEmpty(env.BUILDBOX_AMQP) ?? 'amqp://guest:guest@127.0.0.1:5672/';
  if (!/^amqps?:\/\//.test(amqp) && amqp !== 'ipc:') throw new ConfigError(`--amqp must be an amqp:// URL, got '${amqp}'`);

  const killSeconds = positiveNumber(flags.killTimeoutSeconds, '--kill-timeout-seconds', 30);
  return {
    clientId,
    clientName: clientQueueName(clientId),
    arch,
    dist,
    format,
    suites: [...new Set(suites)],
    buildroot: nonEmpty(flags.buildroot) ?? nonEmpty(file.buildroot) ?? join(homedir(), '.local', 'share', 'buildbox', 'worker'),
    backend,
    // Where `buildbox chroot create` puts tarballs by default, and sbuild itself looks.
    chrootsDir: nonEmpty(flags.chroots) ?? nonEmpty(file.chroots) ?? defaultChrootsDir(env),
    slots,
    controller: controller?.replace(/\/+$/, ''),
    token: nonEmpty(flags.token) ?? nonEmpty(file.token) ?? nonEmpty(env.BUILDBOX_WORKER_TOKEN),
    amqp,
    dput: nonEmpty(flags.dput) ?? nonEmpty(file.dput),
    dputDest: nonEmpty(flags.dputDest) ?? nonEmpty(file.dput_dest),
    dputConfig: nonEmpty(flags.dputConfig),
    debsignKey: nonEmpty(flags.debsignKey) ?? nonEmpty(file.debsignkey),
    dryRun: flags.dryRun ?? file.dry_run ?? false,
    mirror: nonEmpty(flags.mirror) ?? nonEmpty(file.mirror),
    heartbeatMs: positiveNumber(flags.heartbeatSeconds, '--heartbeat-seconds', 10) * 1000,
    killAfterInterruptMs: killSeconds * 1000,
    killAfterTerminateMs: Math.max(1000, (killSeconds * 1000) / 3),
  };
}
