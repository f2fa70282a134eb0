// The preload script of the app's windows (sandboxed, context-isolated). It exposes
// `window.buildbox` with named functions only: no ipcRenderer, no Electron or Node objects,
// and callbacks receive plain data, never the IPC event.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { DesktopBridge, DesktopConnection, DesktopSettings, WorkerState } from '@shared/desktop-bridge';
import { IPC } from './ipc-channels';

function subscribe<T>(channel: string, cb: (v: T) => void): () => void {
  if (typeof cb !== 'function') throw new TypeError('callback must be a function');
  const listener = (_e: IpcRendererEvent, v: T) => cb(v);
  ipcRenderer.on(channel, listener);
  return () => {
    ipcRenderer.removeListener(channel, listener);
  };
}

const bridge: DesktopBridge = {
  getConnection: () => ipcRenderer.invoke(IPC.getConnection),
  onConnectionChanged: (cb) => subscribe<DesktopConnection>(IPC.connectionChanged, cb),
  getWorkerState: () => ipcRenderer.invoke(IPC.getWorkerState),
  onWorkerState: (cb) => subscribe<WorkerState>(IPC.workerState, cb),
  getSettings: () => ipcRenderer.invoke(IPC.getSettings),
  saveSettings: (s: DesktopSettings) => ipcRenderer.invoke(IPC.saveSettings, s),
  testConnection: (url: string, token: string) => ipcRenderer.invoke(IPC.testConnection, url, token),
  notifyJobSubmitted: (jobId: number) => ipcRenderer.invoke(IPC.notifyJobSubmitted, jobId),
};

contextBridge.exposeInMainWorld('buildbox', bridge);
