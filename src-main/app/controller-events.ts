// One Server-Sent Events subscription to the controller's /api/v1/events for the whole main
// process (tray counts and job notifications share it). Reconnects by itself, sending
// Last-Event-ID so the controller replays what was missed, and tells listeners about every
// (re)connection so they can re-read state that may have changed while it was down.
import type { ApiEvent } from '@shared/api';
import { authorizationHeader } from './connection';

export interface SseFrame {
  id: string | null;
  event: string;
  data: string;
}

/** Incremental text/event-stream parser: feed chunks, get complete frames. */
export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;
  /** The last `retry:` the server asked for. */
  retryMs: number | null = null;
  /** The id of the last dispatched frame (for Last-Event-ID). */
  lastEventId: string | null = null;

  feed(chunk: string): SseFrame[] {
    this.buf += chunk;
    const out: SseFrame[] = [];
    let nl: number;
    while ((nl = this.buf.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const sep = this.buf[nl] === '\r' && this.buf[nl + 1] === '\n' ? 2 : 1;
      // A lone trailing \r may be the first half of \r\n: wait for more input.
      if (this.buf[nl] === '\r' && sep === 1 && nl === this.buf.length - 1) break;
      this.buf = this.buf.slice(nl + sep);
      const f = this.line(line);
      if (f) out.push(f);
    }
    return out;
  }

  private line(line: string): SseFrame | null {
    if (line === '') {
      if (!this.data.length) {
        this.event = '';
        return null;
      }
      const f: SseFrame = { id: this.id, event: this.event || 'message', data: this.data.join('\n') };
      if (this.id !== null) this.lastEventId = this.id;
      this.data = [];
      this.event = '';
      return f;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return null;
  }
}

export interface ControllerEventsOptions {
  baseUrl: string;
  token: string;
  log?: (line: string) => void;
  /** Delay before reconnecting when the server did not say (default 2 s). */
  retryMs?: number;
}

type EventListener = (e: ApiEvent) => void;
type OpenListener = () => void;

export class ControllerEvents {
  private readonly events = new Set<EventListener>();
  private readonly opens = new Set<OpenListener>();
  private abort: AbortController | null = null;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private lastEventId: string | null = null;
  private connected = false;

  constructor(private readonly o: ControllerEventsOptions) {}

  get isConnected(): boolean {
    return this.connected;
  }

  onEvent(cb: EventListener): () => void {
    this.events.add(cb);
    return () => this.events.delete(cb);
  }

  /** Called on every successful (re)connection. */
  onOpen(cb: OpenListener): () => void {
    this.opens.add(cb);
    return () => this.opens.delete(cb);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.connected = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort?.abort();
    this.abort = null;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const parser = new SseParser();
      const ac = (this.abort = new AbortController());
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (this.o.token) headers.authorization = authorizationHeader(this.o.token);
        if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
        const res = await fetch(`${this.o.baseUrl}/api/v1/events`, { headers, signal: ac.signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        this.connected = true;
        for (const cb of this.opens) safe(() => cb(), this.o.log);
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const f of parser.feed(decoder.decode(chunk, { stream: true }))) this.dispatch(f);
          if (parser.lastEventId) this.lastEventId = parser.lastEventId;
        }
      } catch (e) {
        if (!this.stopped) this.o.log?.(`event stream from ${this.o.baseUrl}: ${(e as Error).message}; reconnecting`);
      }
      this.connected = false;
      if (this.stopped) return;
      await new Promise<void>((r) => {
        this.timer = setTimeout(r, parser.retryMs ?? this.o.retryMs ?? 2000);
      });
      this.timer = null;
    }
  }

  private dispatch(f: SseFrame): void {
    let e: ApiEvent;
    try {
      e = JSON.parse(f.data) as ApiEvent;
    } catch {
      return;
    }
    if (!e || typeof e !== 'object' || typeof e.type !== 'string') return;
    for (const cb of this.events) safe(() => cb(e), this.o.log);
  }
}

function safe(fn: () => void, log?: (line: string) => void): void {
  try {
    fn();
  } catch (e) {
    log?.(`event listener failed: ${(e as Error).message}`);
  }
}
