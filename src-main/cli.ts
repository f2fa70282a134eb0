// `buildbox`: one command line for every mode (serve, box, worker) and the admin tools.
import { Command } from 'commander';
import { registerServe } from './cli/serve';
import { registerUser } from './cli/user';
import { registerBox } from './cli/box';
import { registerWorker } from './cli/worker';
import { registerChroot } from './cli/chroot';
import { registerSubmit } from './cli/submit';
import { registerJobs } from './cli/jobs';
import { registerWatcher } from './cli/watcher';

const program = new Command('buildbox').description('Buildbox: a Debian build farm (pyBit and launchpad-buildd compatible)');
registerServe(program);
registerBox(program);
registerUser(program);
registerWorker(program);
registerChroot(program);
registerSubmit(program);
registerJobs(program);
registerWatcher(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`buildbox: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
