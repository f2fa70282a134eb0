// pyBit's dry_run (spec/pybit.md §5.8): log the commands a build would run, run none of them,
// report success without files. Useful to exercise the whole job flow in no time.
import { basename } from 'node:path';
import { runCommand } from '../run-command';
import type { BuildBackend, BuildOutcome, BuildSpec } from './backend';
import { dpkgBuildpackageArgs } from './dpkg';
import { sbuildArgs } from './sbuild';

export interface DryRunBackendOptions {
  /** Which real backend's commands to show (default sbuild). */
  plan?: 'sbuild' | 'dpkg';
}

export class DryRunBackend implements BuildBackend {
  readonly name = 'dry-run';
  constructor(private readonly opts: DryRunBackendOptions = {}) {}

  async build(spec: BuildSpec): Promise<BuildOutcome> {
    const log = spec.log;
    const dry = { log, dryRun: true, signal: spec.signal };
    log.write('Dry run: the commands below are logged, not run; nothing is built.\n');
    if ((this.opts.plan ?? 'sbuild') === 'sbuild') {
      await runCommand('sbuild', sbuildArgs(spec), dry);
    } else {
      // The .dsc need not exist in a dry run, so the tree's name comes from the file name.
      const srcdir = `${spec.workdir}/${basename(spec.dsc, '.dsc').replace('_', '-')}`;
      await runCommand('dpkg-source', ['-x', spec.dsc, srcdir], dry);
      await runCommand('dpkg-buildpackage', dpkgBuildpackageArgs(spec), { ...dry, cwd: srcdir });
    }
    if (spec.signal.aborted) return { category: 'ABORTED', files: [], message: 'build aborted' };
    return { category: 'OK', files: [], message: 'dry run: nothing was built' };
  }
}
