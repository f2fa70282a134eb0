// Entry of the local worker's utility process: runs `buildbox worker` with the arguments the
// main process passes in BUILDBOX_WORKER_ARGS (JSON; the token comes as BUILDBOX_WORKER_TOKEN).
// In a utility process the parent channel is `process.parentPort`, not Node's IPC; the worker's
// embedded-queue transport speaks Node IPC, so the port is adapted to process.send/'message'.
import { Command } from 'commander';
import { registerWorker } from '../cli/worker';
import { workerArgs } from './local-worker';

interface ParentPort {
  on(event: 'message', cb: (e: { data: unknown }) => void): void;
  postMessage(m: unknown): void;
}

function adaptParentPort(): void {
  const port = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (!port || process.send) return;
  let connected = true;
  Object.defineProperty(process, 'connected', { get: () => connected, configurable: true });
  process.send = ((m: unknown) => {
    if (!connected) return false;
    port.postMessage(m);
    return true;
  }) as NonNullable<typeof process.send>;
  process.disconnect = () => {
    if (!connected) return;
    connected = false;
    process.emit('disconnect');
  };
  port.on('message', (e) => process.emit('message', e.data as never, undefined as never));
}

async function main(): Promise<void> {
  adaptParentPort();
  const program = new Command('buildbox').exitOverride((e) => process.exit(e.exitCode));
  registerWorker(program);
  await program.parseAsync(['worker', ...workerArgs(process.env, process.argv.slice(2))], { from: 'user' });
}

main().catch((e: unknown) => {
  process.stderr.write(`buildbox worker: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
