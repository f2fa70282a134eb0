// The main-process side of the preload bridge: one handler per named function, each checking
// who calls (only the app's own pages) and what it was given, before it reaches AppCore.
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import type { DesktopConnection, LoadedSettings, SaveSettingsResult, TestConnectionResult, WorkerState } from '@shared/desktop-bridge';
import { IPC, type IpcInvokeChannel } from './ipc-channels';

export interface BridgeServices {
  getConnection(): Promise<DesktopConnection>;
  getWorkerState(): WorkerState;
  getSettings(): LoadedSettings;
  saveSettings(s: unknown): Promise<SaveSettingsResult>;
  testConnection(url: string, token: string): Promise<TestConnectionResult>;
  notifyJobSubmitted(jobId: number): Promise<void>;
}

export class BridgeArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BridgeArgumentError';
  }
}

function str(v: unknown, name: string, max: number): string {
  if (typeof v !== 'string') throw new BridgeArgumentError(`${name} must be a string`);
  if (v.length > max) throw new BridgeArgumentError(`${name} is longer than ${max} characters`);
  return v;
}

export type BridgeHandlers = Record<IpcInvokeChannel, (...args: unknown[]) => Promise<unknown>>;

/** The handlers, without Electron: testable with plain calls. */
export function createBridgeHandlers(s: BridgeServices): BridgeHandlers {
  return {
    [IPC.getConnection]: async () => s.getConnection(),
    [IPC.getWorkerState]: async () => s.getWorkerState(),
    [IPC.getSettings]: async () => s.getSettings(),
    [IPC.saveSettings]: async (settings) => {
      if (!settings || typeof settings !== 'object') return { ok: false, error: 'settings must be an object' } satisfies SaveSettingsResult;
      return s.saveSettings(settings);
    },
    [IPC.testConnection]: async (url, token) => s.testConnection(str(url, 'url', 2048), str(token, 'token', 4096)),
    [IPC.notifyJobSubmitted]: async (jobId) => {
      if (typeof jobId !== 'number' || !Number.isSafeInteger(jobId) || jobId <= 0) throw new BridgeArgumentError('jobId must be a positive integer');
      return s.notifyJobSubmitted(jobId);
    },
  };
}

/** Registers the handlers; calls from any page other than the app's own are refused. */
export function registerBridge(ipcMain: IpcMain, handlers: BridgeHandlers, isTrustedSender: (url: string) => boolean): () => void {
  const channels = Object.keys(handlers) as IpcInvokeChannel[];
  for (const ch of channels) {
    ipcMain.handle(ch, (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      const url = event.senderFrame?.url ?? '';
      if (!isTrustedSender(url)) throw new Error(`refused ${ch} from ${url || 'an unknown frame'}`);
      return handlers[ch](...args);
    });
  }
  return () => {
    for (const ch of channels) ipcMain.removeHandler(ch);
  };
}
