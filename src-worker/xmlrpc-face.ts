// The worker's launchpad-buildd face (`buildbox worker --xmlrpc [HOST:]PORT`): turns the worker's
// flags into startLpBuilder options. Kept apart from the CLI so that the address and option rules
// can be used (and checked) without starting a process.
import { join } from 'node:path';
import { ConfigError } from './worker-config';
import type { LpBuilderServerOptions } from './lp-builder/server';

/** launchpad-buildd's port; loopback unless told otherwise (the original bound every interface). */
export const DEFAULT_XMLRPC_HOST = '127.0.0.1';
export const DEFAULT_XMLRPC_PORT = 8221;

export interface XmlRpcFlags {
  /** `true` when `--xmlrpc` was given without a value. */
  xmlrpc?: string | boolean;
  filecache?: string;
  archTag?: string;
  prepCommand?: string;
  controlFifo?: string;
  legacyStatus?: boolean;
}

/** `PORT`, `HOST:PORT` or `[IPv6]:PORT`. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const t = text.trim();
  let host = DEFAULT_XMLRPC_HOST;
  let portText = t;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (t.includes(':')) {
    const i = t.lastIndexOf(':');
    host = t.slice(0, i);
    portText = t.slice(i + 1);
    if (host === '' || host.includes(':')) throw new ConfigError(`--xmlrpc: expected [HOST:]PORT (IPv6 hosts in brackets), got '${text}'`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new ConfigError(`--xmlrpc: port must be 0..65535, got '${portText}' in '${text}'`);
  return { host, port: Number(portText) };
}

/**
 * The face's options from the worker's flags. `buildroot` is the worker's work directory: the
 * file cache defaults to `<buildroot>/filecache` and builds run under `<buildroot>/lp-builds`.
 */
export function xmlrpcFaceOptions(
  flags: XmlRpcFlags,
  worker: { buildroot: string; arch: string; backend: string; killAfterInterruptMs: number; killAfterTerminateMs: number; version?: string },
): LpBuilderServerOptions {
  const addr = flags.xmlrpc === true || flags.xmlrpc === undefined ? { host: DEFAULT_XMLRPC_HOST, port: DEFAULT_XMLRPC_PORT } : parseListenAddress(String(flags.xmlrpc));
  const archTag = flags.archTag ?? worker.arch;
  if (!/^[A-Za-z0-9][A-Za-z0-9.+_-]*$/.test(archTag)) throw new ConfigError(`--arch-tag is not a valid architecture name: '${archTag}'`);
  if (worker.backend === 'scripted' && !flags.controlFifo) throw new ConfigError('--backend scripted needs --control-fifo PATH');
  if (flags.controlFifo && worker.backend !== 'scripted') throw new ConfigError('--control-fifo is only used with --backend scripted');
  if (flags.prepCommand !== undefined && flags.prepCommand.trim() === '') throw new ConfigError('--prep-command must not be empty');
  return {
    host: addr.host,
    port: addr.port,
    cacheDir: flags.filecache ?? join(worker.buildroot, 'filecache'),
    workRoot: join(worker.buildroot, 'lp-builds'),
    archTag,
    backend: worker.backend,
    backendOptions: { kill: { afterInterruptMs: worker.killAfterInterruptMs, afterTerminateMs: worker.killAfterTerminateMs } },
    controlFifo: flags.controlFifo,
    prepCommand: flags.prepCommand,
    legacyStatus: flags.legacyStatus ?? false,
    builderVersion: worker.version,
  };
}
