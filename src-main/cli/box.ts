// `buildbox box`: the all-in-one mode — the same controller `serve` runs, plus the web UI at `/`
// and a supervised local worker when one is configured.
import type { Command } from 'commander';
import { addControllerOptions, type ControllerFlags } from './options';
import { onSignals, startFromFlags } from './serve';

export function registerBox(program: Command): void {
  addControllerOptions(program.command('box').description('run controller, web UI and a local worker in one process tree')).action(async (o: ControllerFlags) => {
    const c = await startFromFlags(o);
    process.stdout.write(`Buildbox controller listening on ${c.url}\nBuildbox UI: ${c.url}/\n`);
    onSignals(() => c.close());
  });
}
