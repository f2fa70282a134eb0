// Remembers the jobs submitted from this app and says once when each one finishes (Done,
// Uploaded, Failed or Cancelled), from the controller's event stream. After every
// (re)connection it re-reads the watched jobs, so a finish that happened while the stream was
// down is still reported.
import axios, { type AxiosInstance } from 'axios';
import type { ApiEvent, JobDetail } from '@shared/api';
import type { DesktopConnection } from '@shared/desktop-bridge';
import { authorizationHeader, axiosProxyFor } from './connection';
import type { ControllerEvents } from './controller-events';

/** Statuses after which a watched job is reported and forgotten. Failed counts: the user wants to know. */
export const NOTIFY_STATUSES: readonly string[] = ['Done', 'Uploaded', 'Failed', 'Cancelled'];

export interface JobFinishedNotice {
  jobId: number;
  status: string;
  title: string;
  body: string;
}

export interface JobWatcherOptions {
  notify: (n: JobFinishedNotice) => void;
  log?: (line: string) => void;
}

export function describeFinishedJob(jobId: number, status: string, job: Partial<JobDetail> | null): JobFinishedNotice {
  const what = job?.package ? `${job.package} ${job.version ?? ''}`.trim() : `Job ${jobId}`;
  const where = job?.package ? [job.arch, job.suite].filter(Boolean).join('/') : '';
  const result = job?.result && job.result !== 'OK' ? ` (${job.result}${job.resultDetails ? `: ${job.resultDetails}` : ''})` : '';
  return {
    jobId,
    status,
    title: `${what}: ${status}`,
    body: `Job ${jobId}${where ? ` on ${where}` : ''} finished ${status}${result}.`,
  };
}

export class JobWatcher {
  private readonly watched = new Set<number>();
  private http: AxiosInstance | null = null;
  private unsub: Array<() => void> = [];

  constructor(private readonly o: JobWatcherOptions) {}

  /** Follows a new controller; ids from the previous one mean nothing there and are dropped. */
  attach(conn: DesktopConnection | null, events: ControllerEvents | null): void {
    for (const u of this.unsub) u();
    this.unsub = [];
    this.watched.clear();
    this.http = conn
      ? axios.create({ baseURL: conn.baseUrl, timeout: 10_000, ...axiosProxyFor(conn.baseUrl), headers: conn.token ? { authorization: authorizationHeader(conn.token) } : {} })
      : null;
    if (events) {
      this.unsub.push(events.onEvent((e) => this.onEvent(e)));
      this.unsub.push(events.onOpen(() => void this.recheckAll()));
    }
  }

  watching(): number[] {
    return [...this.watched].sort((a, b) => a - b);
  }

  /** Starts watching; reports at once when the job has already finished. */
  async watch(jobId: number): Promise<void> {
    if (!Number.isSafeInteger(jobId) || jobId <= 0) throw new Error(`jobId must be a positive integer, got ${String(jobId)}`);
    this.watched.add(jobId);
    await this.recheck(jobId);
  }

  private onEvent(e: ApiEvent): void {
    if (e.type === 'job.deleted') this.watched.delete(e.jobId);
    if (e.type === 'job.status' && this.watched.has(e.jobId) && NOTIFY_STATUSES.includes(e.status)) void this.finish(e.jobId, e.status);
  }

  private async recheckAll(): Promise<void> {
    await Promise.all(this.watching().map((id) => this.recheck(id)));
  }

  private async recheck(jobId: number): Promise<void> {
    const job = await this.fetchJob(jobId);
    if (job === 'gone') {
      this.watched.delete(jobId);
      return;
    }
    if (job && NOTIFY_STATUSES.includes(job.status)) await this.finish(jobId, job.status, job);
  }

  private async finish(jobId: number, status: string, known?: JobDetail): Promise<void> {
    // Delete first: the event and a re-check may both see the finish; only one reports it.
    if (!this.watched.delete(jobId)) return;
    const job = known ?? (await this.fetchJob(jobId));
    const notice = describeFinishedJob(jobId, status, job && job !== 'gone' ? job : null);
    try {
      this.o.notify(notice);
    } catch (e) {
      this.o.log?.(`notification for job ${jobId} failed: ${(e as Error).message}`);
    }
  }

  private async fetchJob(jobId: number): Promise<JobDetail | 'gone' | null> {
    if (!this.http) return null;
    try {
      const r = await this.http.get<JobDetail>(`/api/v1/jobs/${jobId}`, { validateStatus: (s) => s === 200 || s === 404 });
      return r.status === 404 ? 'gone' : r.data;
    } catch (e) {
      this.o.log?.(`could not read job ${jobId}: ${(e as Error).message}`);
      return null;
    }
  }
}
