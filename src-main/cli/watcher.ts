// `buildbox watcher`: pyBit's watcher — feeds uploads in incoming directories to reprepro.
import { Command, Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { parseRuleFlag, parseSleeptime, readConfigFile, WatcherConfigError, type WatcherConfig } from '../watcher/config';
import { IncomingWatcher } from '../watcher/watcher';
import { onSignals } from './serve';

interface WatcherFlags {
  config?: string;
  rule: string[];
  sleeptime?: string;
  dryRun?: boolean;
  user?: string;
}

export function watcherConfigFromFlags(o: WatcherFlags): WatcherConfig {
  const file = o.config ? readConfigFile(o.config) : {};
  const rules = { ...file.rules };
  for (const r of o.rule) {
    const [dir, rule] = parseRuleFlag(r);
    rules[dir] = rule;
  }
  if (Object.keys(rules).length === 0) throw new WatcherConfigError('no rules: give --config FILE with "rules" or at least one --rule DIR=REPOBASE:RULE');
  for (const dir of Object.keys(rules)) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new WatcherConfigError(`rules: incoming directory '${dir}' does not exist`);
  }
  return {
    rules,
    dryrun: o.dryRun ?? file.dryrun ?? false,
    sleeptime: o.sleeptime !== undefined ? parseSleeptime(o.sleeptime) : (file.sleeptime ?? 3),
    user: o.user ?? file.user,
  };
}

export function registerWatcher(program: Command): void {
  program
    .command('watcher')
    .description('watch incoming directories and run reprepro processincoming when a .changes arrives')
    .addOption(new Option('--config <file>', 'JSON file: {"dryrun", "sleeptime", "user", "rules": {"<dir>": {"repobase", "rule"}}}').env('BUILDBOX_WATCHER_CONFIG'))
    .addOption(new Option('--rule <dir=repobase:rule>', 'a rule (repeatable)').argParser((v: string, prev: string[]) => [...prev, v]).default([]))
    .addOption(new Option('--sleeptime <seconds>', 'settle time after a .changes appears (default 3)'))
    .addOption(new Option('--dry-run', 'log the reprepro commands instead of running them'))
    .addOption(new Option('--user <name>', 'run reprepro as this user (su)'))
    .action(async (o: WatcherFlags) => {
      const config = watcherConfigFromFlags(o);
      const w = new IncomingWatcher(config, { log: (l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`) });
      w.start();
      process.stdout.write(`watcher ready: ${Object.keys(config.rules).length} rule(s)\n`);
      onSignals(() => w.stop());
    });
}
