// pyBit's watcher: watches incoming directories and, when a .changes file appears, waits the
// settle time (dput writes the files it names one after the other) and runs
// `reprepro -b <repobase> processincoming <rule>` for the directory's rule. Only files directly
// in a watched directory match a rule; runs for one repository base never overlap.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { commandRunner, formatCommandLine, type CommandRunner } from '../controller/publish/command-runner';
import type { WatcherConfig, WatchRule } from './config';

export interface WatcherEvents {
  log(line: string): void;
}

export class IncomingWatcher {
  private readonly watchers: FSWatcher[] = [];
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly runner: CommandRunner;
  private running = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly config: WatcherConfig,
    private readonly out: WatcherEvents,
    runner?: CommandRunner,
  ) {
    this.runner = runner ?? commandRunner((l) => out.log(l));
  }

  start(): void {
    for (const [dir, rule] of Object.entries(this.config.rules)) {
      const w = watch(dir, (_event, name) => {
        if (name) this.seen(dir, String(name), rule);
      });
      w.on('error', (e) => this.out.log(`watch ${dir}: ${e.message}`));
      this.watchers.push(w);
      this.out.log(`watching ${dir} → reprepro -b ${rule.repobase} processincoming ${rule.rule}${this.config.dryrun ? ' (dry run)' : ''}`);
    }
  }

  private seen(dir: string, name: string, rule: WatchRule): void {
    if (!name.endsWith('.changes')) return;
    const path = join(dir, name);
    if (this.pending.has(path)) return;
    const t = setTimeout(() => {
      this.pending.delete(path);
      this.running++;
      void this.process(path, rule).finally(() => {
        this.running--;
        if (this.running === 0 && this.pending.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }, this.config.sleeptime * 1000);
    this.pending.set(path, t);
  }

  private async process(path: string, rule: WatchRule): Promise<void> {
    // A creation or a removal both raise an event; only an existing regular file counts.
    const st = await stat(path).catch(() => null);
    if (!st?.isFile()) return;
    this.out.log(`new upload ${path}`);
    const prev = this.chains.get(rule.repobase) ?? Promise.resolve();
    const next = prev.then(() => this.runRule(rule));
    this.chains.set(rule.repobase, next);
    await next;
  }

  private async runRule(rule: WatchRule): Promise<void> {
    const args = ['-b', rule.repobase, 'processincoming', rule.rule];
    if (this.config.dryrun) {
      this.out.log(`DRY-RUN: ${formatCommandLine('reprepro', args)}`);
      return;
    }
    const r = this.config.user ? await this.runner.run('su', [this.config.user, '-c', formatCommandLine('reprepro', args)]) : await this.runner.run('reprepro', args);
    const output = `${r.stdout}${r.stderr}`.trim();
    if (r.code !== 0) this.out.log(`reprepro processincoming ${rule.rule} failed (exit ${r.code}): ${output}`);
    else this.out.log(`reprepro processincoming ${rule.rule} done${output ? `: ${output}` : ''}`);
  }

  /** Resolves when no upload is waiting or being processed. */
  idle(): Promise<void> {
    if (this.running === 0 && this.pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.close();
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    await Promise.all([...this.chains.values()]);
  }
}
