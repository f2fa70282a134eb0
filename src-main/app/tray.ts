// The tray icon: Building and Waiting counts in its tooltip and menu, and the usual
// open / quit entries.
import { Menu, Tray, nativeImage } from 'electron';
import { trayTooltip, type JobCounts } from './job-counts';

export interface TrayActions {
  open(route: string): void;
  quit(): void;
}

export class AppTray {
  private readonly tray: Tray;

  constructor(iconPath: string, private readonly actions: TrayActions) {
    this.tray = new Tray(nativeImage.createFromPath(iconPath));
    this.tray.on('click', () => actions.open('/ui/dashboard'));
    this.update({ building: 0, waiting: 0, live: false });
  }

  update(c: JobCounts): void {
    this.tray.setToolTip(trayTooltip(c));
    // macOS shows a title beside the icon; elsewhere the tooltip and the menu carry the counts.
    if (process.platform === 'darwin') this.tray.setTitle(`${c.building}/${c.waiting}`);
    this.tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: `Building: ${c.building}`, click: () => this.actions.open('/ui/jobs?status=Building') },
        { label: `Waiting: ${c.waiting}`, click: () => this.actions.open('/ui/jobs?status=Waiting') },
        ...(c.live ? [] : [{ label: 'Controller unreachable', enabled: false }]),
        { type: 'separator' },
        { label: 'Open Buildbox', click: () => this.actions.open('/ui/dashboard') },
        { label: 'Quit', click: () => this.actions.quit() },
      ]),
    );
  }

  destroy(): void {
    this.tray.destroy();
  }
}
