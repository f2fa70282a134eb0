// The Building and Waiting counts shown by the tray icon. Read from /api/v1/stats whenever the
// event stream (re)connects and, coalesced, shortly after job events: the stats are the truth,
// the events only say when to look again.
import axios from 'axios';
import type { ApiEvent, StatsResponse } from '@shared/api';
import type { DesktopConnection } from '@shared/desktop-bridge';
import { axiosProxyFor } from './connection';
import type { ControllerEvents } from './controller-events';

export interface JobCounts {
  building: number;
  waiting: number;
  /** False when the controller could not be read; the numbers are then the last known ones. */
  live: boolean;
}

export function trayTooltip(c: JobCounts): string {
  const text = `Buildbox — ${c.building} building, ${c.waiting} waiting`;
  return c.live ? text : `${text} (controller unreachable)`;
}

export class JobCountsModel {
  private counts: JobCounts = { building: 0, waiting: 0, live: false };
  private conn: DesktopConnection | null = null;
  private unsub: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(c: JobCounts) => void>();
  /** Bumped per connection, so that a slow answer from the previous controller is dropped. */
  private generation = 0;

  constructor(private readonly o: { debounceMs?: number; log?: (line: string) => void } = {}) {}

  get(): JobCounts {
    return { ...this.counts };
  }

  onChange(cb: (c: JobCounts) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  attach(conn: DesktopConnection | null, events: ControllerEvents | null): void {
    for (const u of this.unsub) u();
    this.unsub = [];
    this.generation++;
    this.conn = conn;
    this.set({ building: 0, waiting: 0, live: false });
    if (!conn) return;
    if (events) {
      this.unsub.push(events.onOpen(() => void this.refresh()));
      this.unsub.push(events.onEvent((e) => this.onEvent(e)));
    }
    void this.refresh();
  }

  stop(): void {
    this.attach(null, null);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private onEvent(e: ApiEvent): void {
    if (e.type !== 'job.created' && e.type !== 'job.status' && e.type !== 'job.deleted') return;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, this.o.debounceMs ?? 500);
  }

  async refresh(): Promise<JobCounts> {
    const conn = this.conn;
    const gen = this.generation;
    if (!conn) return this.get();
    try {
      const r = await axios.get<StatsResponse>(`${conn.baseUrl}/api/v1/stats`, { timeout: 10_000, ...axiosProxyFor(conn.baseUrl) });
      if (gen !== this.generation) return this.get();
      const c = r.data.counts ?? {};
      this.set({ building: c.Building ?? 0, waiting: c.Waiting ?? 0, live: true });
    } catch (e) {
      if (gen !== this.generation) return this.get();
      this.o.log?.(`could not read job counts: ${(e as Error).message}`);
      this.set({ ...this.counts, live: false });
    }
    return this.get();
  }

  private set(c: JobCounts): void {
    const same = c.building === this.counts.building && c.waiting === this.counts.waiting && c.live === this.counts.live;
    this.counts = c;
    if (!same) for (const l of this.listeners) l(this.get());
  }
}
