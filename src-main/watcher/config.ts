// The watcher's configuration: pyBit's watcher.conf (JSON) and the command-line flags on top.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

export interface WatchRule {
  repobase: string;
  rule: string;
}

export interface WatcherConfig {
  dryrun: boolean;
  /** Seconds between a .changes appearing and running reprepro (uploads write several files). */
  sleeptime: number;
  /** Incoming directory (absolute) → reprepro base and processincoming rule. */
  rules: Record<string, WatchRule>;
  /** When set, reprepro runs as this user (`su <user> -c …`). */
  user?: string;
}

export class WatcherConfigError extends Error {}

function checkRules(raw: unknown, where: string): Record<string, WatchRule> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new WatcherConfigError(`${where}: rules must be an object of directory → {repobase, rule}`);
  const out: Record<string, WatchRule> = {};
  for (const [dir, v] of Object.entries(raw as Record<string, unknown>)) {
    const r = v as Partial<WatchRule> | null;
    if (!r || typeof r.repobase !== 'string' || r.repobase === '') throw new WatcherConfigError(`${where}: rules['${dir}'].repobase is required (a reprepro base directory)`);
    if (typeof r.rule !== 'string' || r.rule === '') throw new WatcherConfigError(`${where}: rules['${dir}'].rule is required (a conf/incoming rule name)`);
    out[resolve(dir)] = { repobase: resolve(r.repobase), rule: r.rule };
  }
  return out;
}

/** Reads a watcher.conf-style JSON file. `configured: false` is refused as pyBit does. */
export function readConfigFile(path: string): Partial<WatcherConfig> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new WatcherConfigError(`${path}: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new WatcherConfigError(`${path}: expected a JSON object`);
  if (raw.configured === false) throw new WatcherConfigError(`${path}: 'configured' is false — edit the file's rules and set it to true`);
  const out: Partial<WatcherConfig> = { rules: checkRules(raw.rules, path) };
  if (raw.dryrun !== undefined) {
    if (typeof raw.dryrun !== 'boolean') throw new WatcherConfigError(`${path}: dryrun must be true or false`);
    out.dryrun = raw.dryrun;
  }
  if (raw.sleeptime !== undefined) out.sleeptime = parseSleeptime(String(raw.sleeptime), `${path}: sleeptime`);
  if (raw.user !== undefined) {
    if (typeof raw.user !== 'string' || !/^[a-z_][a-z0-9_-]*$/i.test(raw.user)) throw new WatcherConfigError(`${path}: user must be a user name`);
    out.user = raw.user;
  }
  return out;
}

export function parseSleeptime(s: string, what = '--sleeptime'): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n < 0) throw new WatcherConfigError(`${what} must be a number of seconds ≥ 0, got '${s}'`);
  return n;
}

/** `--rule DIR=REPOBASE:RULE`. */
export function parseRuleFlag(s: string): [string, WatchRule] {
  const m = /^([^=]+)=(.+):([^:]+)$/.exec(s);
  if (!m) throw new WatcherConfigError(`--rule must look like DIR=REPOBASE:RULE, got '${s}'`);
  if (!isAbsolute(m[1]!) && !m[1]!.startsWith('.')) throw new WatcherConfigError(`--rule: '${m[1]}' must be a directory path`);
  return [resolve(m[1]!), { repobase: resolve(m[2]!), rule: m[3]! }];
}
