// IPC channel names shared by the main process and the preload script. Kept free of imports so
// that the sandboxed preload bundle stays self-contained.
export const IPC = {
  getConnection: 'buildbox:get-connection',
  connectionChanged: 'buildbox:connection-changed',
  getWorkerState: 'buildbox:get-worker-state',
  workerState: 'buildbox:worker-state',
  getSettings: 'buildbox:get-settings',
  saveSettings: 'buildbox:save-settings',
  testConnection: 'buildbox:test-connection',
  notifyJobSubmitted: 'buildbox:notify-job-submitted',
} as const;

export type IpcInvokeChannel = (typeof IPC)['getConnection' | 'getWorkerState' | 'getSettings' | 'saveSettings' | 'testConnection' | 'notifyJobSubmitted'];
