// GET /api/v1/events: the controller's event bus as Server-Sent Events.
//
// Each frame carries `id:` (a per-controller sequence), `event:` (the type) and `data:` (JSON).
// Recent events are kept in a ring buffer so that a client reconnecting with Last-Event-ID
// (EventSource does this by itself) gets what it missed. Streams end when the server closes,
// so that closing the controller never waits on an open browser tab.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { API_EVENT_TYPES, apiRoutes, EventsQuery, routerPath, SSE_HEARTBEAT_SECONDS, type ApiEvent } from '@shared/api';
import type { ControllerEvent } from '../../events';
import type { AuthDeps } from '../pybit/common';
import { parseQuery } from './read-common';

const BUFFER_SIZE = 1000;
/** A client that stops reading is dropped once this much output is queued for it. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

interface Stored {
  id: number;
  event: ApiEvent;
}

interface Client {
  res: ServerResponse;
  job: number | undefined;
}

function toApiEvent(e: ControllerEvent): ApiEvent | null {
  return (API_EVENT_TYPES as readonly string[]).includes(e.type) ? (e as ApiEvent) : null;
}

function frame(s: Stored): string {
  return `id: ${s.id}\nevent: ${s.event.type}\ndata: ${JSON.stringify(s.event)}\n\n`;
}

function matches(c: Client, e: ApiEvent): boolean {
  return c.job === undefined || ('jobId' in e && e.jobId === c.job);
}

export function registerEventStream(app: FastifyInstance, deps: AuthDeps, opts: { heartbeatMs?: number } = {}): void {
  const heartbeatMs = opts.heartbeatMs ?? SSE_HEARTBEAT_SECONDS * 1000;
  const clients = new Set<Client>();
  const buffer: Stored[] = [];
  let seq = 0;

  const send = (c: Client, chunk: string) => {
    if (c.res.destroyed || c.res.writableEnded) return;
    if (c.res.writableLength > MAX_QUEUED_BYTES) {
      c.res.destroy();
      return;
    }
    c.res.write(chunk);
  };

  const unsubscribe = deps.ctx.events.on((e) => {
    const event = toApiEvent(e);
    if (!event) return;
    const stored = { id: ++seq, event };
    buffer.push(stored);
    if (buffer.length > BUFFER_SIZE) buffer.shift();
    const text = frame(stored);
    for (const c of clients) if (matches(c, event)) send(c, text);
  });

  const heartbeat = setInterval(() => {
    for (const c of clients) send(c, ': ping\n\n');
  }, heartbeatMs);
  heartbeat.unref();

  const endAll = () => {
    for (const c of clients) c.res.end();
    clients.clear();
  };
  // preClose runs before the server stops accepting and waits for open connections.
  app.addHook('preClose', (done) => {
    endAll();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clearInterval(heartbeat);
    unsubscribe();
    endAll();
    done();
  });

  app.get(routerPath(apiRoutes.events.path), async (req: FastifyRequest, reply: FastifyReply) => {
    const q = parseQuery(EventsQuery, req);
    const header = req.headers['last-event-id'];
    const lastHeader = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
    const lastEventId = q.lastEventId ?? lastHeader;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Reverse proxies (nginx) must not buffer the stream.
      'x-accel-buffering': 'no',
      'access-control-allow-origin': '*',
    });
    const client: Client = { res, job: q.job };
    res.write(`retry: 2000\n: connected\n\n`);
    // Replay only ids this controller issued; a larger id comes from before a restart.
    if (lastEventId !== undefined && lastEventId <= seq) {
      for (const s of buffer) if (s.id > lastEventId && matches(client, s.event)) send(client, frame(s));
    }
    clients.add(client);
    const drop = () => clients.delete(client);
    req.raw.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
  });
}
