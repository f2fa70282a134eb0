// Desktop notifications for finished jobs; clicking one opens the job in the main window.
import { Notification } from 'electron';
import type { JobFinishedNotice } from './job-watcher';

export function showJobFinished(n: JobFinishedNotice, openJob: (jobId: number) => void, iconPath?: string): void {
  if (!Notification.isSupported()) return;
  const note = new Notification({ title: n.title, body: n.body, icon: iconPath, urgency: n.status === 'Failed' ? 'critical' : 'normal' });
  note.on('click', () => openJob(n.jobId));
  note.show();
}
