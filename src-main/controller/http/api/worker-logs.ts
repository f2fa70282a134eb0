// Build logs: workers append offset-addressed chunks; anyone reads byte ranges or follows the
// log live over Server-Sent Events until the job leaves Building.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { workerPaths, type LogAppendResponse } from '@shared/worker-api';
import type { AuthDeps } from '../pybit/common';
import { HttpError } from '../errors';
import { WorkerConflictError } from '../../domain/claim';
import type { ControllerEvent } from '../../events';
import { authed, guard, intQuery, jobIdParam, query, readRaw, sendApiJson, workerOf } from './worker-common';
import type { WorkerStores } from './worker-api';

/** Largest chunk a worker may send at once (its streamer sends 256 KiB). */
export const MAX_LOG_CHUNK = 16 * 1024 * 1024;
/** Statuses after which no more log is coming: the SSE stream ends. Waiting may start a new attempt. */
const LOG_CLOSED = new Set(['Done', 'Failed', 'Cancelled', 'Uploaded', 'Blocked']);
const SSE_CHUNK = 64 * 1024;
const KEEPALIVE_MS = 15_000;

const route = (path: (id: number) => string) => path(1234567).replace('/1234567/', '/:id/');

export function registerWorkerLogRoutes(app: FastifyInstance, deps: AuthDeps, stores: WorkerStores): void {
  const { ctx } = deps;
  const db = ctx.db.kysely;
  const logPath = workerPaths.log(1234567).replace('/1234567/', '/:id/');

  async function jobStatus(id: number): Promise<string> {
    const j = await db.selectFrom('job').select('status').where('id', '=', id).executeTakeFirst();
    if (!j) throw new HttpError(404, `no job ${id}`);
    return j.status;
  }

  const append = authed(deps, async (req, reply) => {
    const id = jobIdParam(req);
    const worker = workerOf(req);
    const offset = intQuery(query(req), 'offset', undefined);
    if (offset === undefined) throw new HttpError(400, "query parameter 'offset' is required (the byte offset of this chunk)");
    const job = await db.selectFrom('job').select(['status', 'lease_owner']).where('id', '=', id).executeTakeFirst();
    if (!job) throw new HttpError(404, `no job ${id}`);
    if (job.status !== 'Building' || job.lease_owner !== worker) {
      throw new WorkerConflictError(`job ${id}: only the lease owner may write its log, and ${worker} is not it (status ${job.status})`, {
        status: job.status,
        leaseOwner: job.lease_owner,
      });
    }
    const data = await readRaw(req, MAX_LOG_CHUNK);
    const r = await stores.logs.append(id, offset, data);
    if (!r.ok) {
      throw new WorkerConflictError(`job ${id}: chunk at offset ${offset} leaves a gap; the log has ${r.length} bytes`, { status: job.status, length: r.length });
    }
    if (r.appended > 0) ctx.events.emit({ type: 'job.log', jobId: id, offset: r.offset, length: r.appended });
    const res: LogAppendResponse = { length: r.length };
    return sendApiJson(reply, res);
  });
  app.put(logPath, append);
  app.post(logPath, append);

  app.get(
    logPath,
    guard(async (req, reply) => {
      const id = jobIdParam(req);
      await jobStatus(id);
      const q = query(req);
      const total = await stores.logs.length(id);
      // `tail=N`: the last N bytes, found in the same request that learns the size (a viewer
      // opening a huge log at its end needs one round trip, not two).
      const tail = intQuery(q, 'tail', undefined);
      if (tail !== undefined && (q.offset !== undefined || q.length !== undefined)) {
        throw new HttpError(400, "give either 'tail' or 'offset'/'length', not both");
      }
      const offset = tail !== undefined ? Math.max(0, total - tail) : Math.min(intQuery(q, 'offset', 0)!, total);
      const want = tail !== undefined ? tail : intQuery(q, 'length', undefined);
      const end = want === undefined ? total : Math.min(total, offset + want);
      reply
        .header('content-type', 'text/plain; charset=utf-8')
        .header('x-log-length', String(total))
        .header('x-log-size', String(total))
        .header('x-log-offset', String(offset))
        .header('cache-control', 'no-store')
        // A desktop app pointed at a remote controller reads these across origins.
        .header('access-control-expose-headers', 'X-Log-Length, X-Log-Size, X-Log-Offset');
      if (end <= offset) return reply.code(200).send('');
      reply.header('content-length', String(end - offset));
      return reply.code(200).send(createReadStream(stores.logs.path(id), { start: offset, end: end - 1 }));
    }),
  );

  app.get(
    route(workerPaths.logStream),
    // A HEAD would open a stream that never sends anything.
    { exposeHeadRoute: false },
    guard(async (req, reply) => {
      const id = jobIdParam(req);
      const status = await jobStatus(id);
      const last = req.headers['last-event-id'];
      const fromHeader = typeof last === 'string' && /^\d{1,15}$/.test(last) ? Number(last) : undefined;
      const offset = fromHeader ?? intQuery(query(req), 'offset', 0)!;
      streamLog(req, reply, id, offset, status);
      return reply;
    }),
  );

  const open = new Set<() => void>();
  // SSE connections never go idle; end them so that closing the server does not wait for them.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  function streamLog(req: FastifyRequest, reply: FastifyReply, id: number, start: number, initialStatus: string): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'access-control-allow-origin': '*',
    });
    res.write('retry: 2000\n\n');
    let offset = start;
    let decoder = new StringDecoder('utf8');
    let closed = false;
    let ending = false;
    let pumping: Promise<void> | null = null;
    let again = false;

    const send = (event: string, data: unknown, eventId?: number) => {
      if (closed) return;
      res.write(`${eventId === undefined ? '' : `id: ${eventId}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    /** Sends what the log has beyond `offset`; one pass at a time, re-run when asked meanwhile. */
    const pump = (): Promise<void> => {
      if (pumping) {
        again = true;
        return pumping;
      }
      pumping = (async () => {
        do {
          again = false;
          for (;;) {
            if (closed) return;
            const buf = await stores.logs.read(id, offset, SSE_CHUNK);
            if (buf.length === 0) break;
            const next = offset + buf.length;
            send('log', { offset, next, text: decoder.write(buf) }, next);
            offset = next;
          }
        } while (again);
      })().finally(() => {
        pumping = null;
      });
      return pumping;
    };
    const finish = async (status: string) => {
      if (ending) return;
      ending = true;
      await pump().catch(() => {});
      const rest = decoder.end();
      if (rest) send('log', { offset, next: offset, text: rest }, offset);
      send('end', { status, length: offset });
      close();
    };
    const onEvent = (e: ControllerEvent) => {
      if (closed || ending) return;
      if (e.type === 'job.log' && e.jobId === id) void pump().catch(() => close());
      else if (e.type === 'job.status' && e.jobId === id) {
        if (e.status === 'Building' && offset > 0) {
          // A new attempt was claimed: its log starts again at 0.
          offset = 0;
          decoder = new StringDecoder('utf8');
          send('reset', { offset: 0 });
          void pump().catch(() => close());
        } else if (LOG_CLOSED.has(e.status)) void finish(e.status);
      }
    };
    const off = ctx.events.on(onEvent);
    const keepalive = setInterval(() => !closed && res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    const close = () => {
      if (closed) return;
      closed = true;
      off();
      clearInterval(keepalive);
      open.delete(close);
      res.end();
    };
    open.add(close);
    req.raw.on('close', close);
    res.on('error', close);
    // Catch up first; a job that is already over gets its rest and the end at once.
    void pump()
      .then(async () => {
        if (LOG_CLOSED.has(initialStatus)) return finish(initialStatus);
        // The status may have changed between the first read and the subscription.
        const now = await jobStatus(id).catch(() => 'Cancelled');
        if (LOG_CLOSED.has(now)) return finish(now);
      })
      .catch(() => close());
  }
}
