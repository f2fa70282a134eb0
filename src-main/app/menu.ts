// The application menu, as a template (plain data) built from the app's actions; main.ts hands
// it to Menu.buildFromTemplate.
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  /** Opens a route of the UI (e.g. `/ui/jobs`) in the main window. */
  open(route: string): void;
  openInBrowser(): void;
  openDataDir(): void;
  quit(): void;
}

export function buildMenuTemplate(a: MenuActions, platform: NodeJS.Platform = process.platform): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  const go = (label: string, route: string, accelerator?: string): MenuItemConstructorOptions => ({ label, accelerator, click: () => a.open(route) });
  return [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        go('Submit a Build…', '/ui/submit', 'CmdOrCtrl+N'),
        { type: 'separator' },
        { label: 'Open in Browser', click: () => a.openInBrowser() },
        { label: 'Open Data Folder', click: () => a.openDataDir() },
        { type: 'separator' },
        mac ? { role: 'close' } : { label: 'Quit', accelerator: 'CmdOrCtrl+Q', click: () => a.quit() },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&Go',
      submenu: [
        go('Dashboard', '/ui/dashboard', 'CmdOrCtrl+1'),
        go('Jobs', '/ui/jobs', 'CmdOrCtrl+2'),
        go('Packages', '/ui/packages', 'CmdOrCtrl+3'),
        go('Workers and Builders', '/ui/workers', 'CmdOrCtrl+4'),
        go('Lookups', '/ui/lookups', 'CmdOrCtrl+5'),
        { type: 'separator' },
        go('Settings', '/ui/settings', 'CmdOrCtrl+,'),
      ],
    },
    {
      label: '&View',
      submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }],
    },
    { role: 'windowMenu' },
  ];
}
