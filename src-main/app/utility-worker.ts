// The local worker as an Electron utilityProcess, behind the supervisor's SpawnWorker interface.
// With the embedded queue, the utility process's message port stands in for the Node IPC
// channel the queue expects (see worker-entry.ts for the other end).
import { utilityProcess, type UtilityProcess } from 'electron';
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { EmbeddedQueue } from '../../src-worker/embedded-queue';
import type { LocalWorkerSpec } from './local-worker';
import type { SpawnWorker } from './worker-supervisor';

/** The ChildProcess surface EmbeddedQueue.attach uses: send, connected, message, exit, disconnect. */
function asChildProcess(p: UtilityProcess): ChildProcess {
  const e = new EventEmitter() as EventEmitter & { connected: boolean; send(m: unknown): boolean };
  e.connected = true;
  e.send = (m: unknown) => {
    if (!e.connected) return false;
    p.postMessage(m);
    return true;
  };
  p.on('message', (m: unknown) => e.emit('message', m));
  p.once('exit', (code: number) => {
    e.connected = false;
    e.emit('exit', code, null);
    e.emit('disconnect');
  });
  return e as unknown as ChildProcess;
}

export function utilityWorkerSpawner(entry: string, spec: LocalWorkerSpec, queue: EmbeddedQueue | null): SpawnWorker {
  return () => {
    const p = utilityProcess.fork(entry, [], {
      serviceName: 'Buildbox worker',
      stdio: 'pipe',
      env: { ...process.env, ...spec.env, BUILDBOX_WORKER_ARGS: JSON.stringify(spec.args) },
    });
    if (queue && spec.ipcQueue) queue.attach(asChildProcess(p));
    const outputs = new Set<(l: string) => void>();
    for (const s of [p.stdout, p.stderr]) if (s) createInterface({ input: s, crlfDelay: Infinity }).on('line', (l) => outputs.forEach((cb) => cb(l)));
    let exited = false;
    return {
      get pid() {
        return p.pid;
      },
      onSpawn: (cb) => void p.once('spawn', cb),
      onExit: (cb) =>
        void p.once('exit', (code: number) => {
          exited = true;
          cb(code, null);
        }),
      onOutput: (cb) => void outputs.add(cb),
      kill: (signal) => {
        if (exited) return;
        // utilityProcess.kill() sends SIGTERM; a SIGKILL request goes to the pid directly.
        if (signal === 'SIGKILL' && p.pid) {
          try {
            process.kill(p.pid, 'SIGKILL');
            return;
          } catch {
            // Already gone.
          }
        }
        p.kill();
      },
    };
  };
}
