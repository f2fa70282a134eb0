// A minimal pyBit controller: just the two routes a pyBit build client uses (spec/pybit.md §5.7),
// GET /job/<id>/status and PUT /job/<id>, with an in-memory job history. No /api/v1, so a
// Buildbox worker falls back to pyBit's protocol against it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StatusPut {
  jobId: number;
  status: string;
  client: string | null;
  auth: string | undefined;
}

export interface PybitEndpoint {
  url: string;
  webHost: string;
  /** Latest-last status history per job. */
  history: Map<number, string[]>;
  puts: StatusPut[];
  /** Paths the worker requested. */
  requests: string[];
  setStatus(jobId: number, status: string): void;
  close(): Promise<void>;
}

export async function startPybitEndpoint(): Promise<PybitEndpoint> {
  const history = new Map<number, string[]>();
  const puts: StatusPut[] = [];
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}`);
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = /^\/job\/(\d+)\/status$/.exec(url.pathname);
      if (status && req.method === 'GET') {
        const h = history.get(Number(status[1]));
        if (!h) {
          res.writeHead(404).end('job not found');
          return;
        }
        const rows = h.map((s, i) => ({ 'py/object': 'pybit.models.JobHistory', job_id: Number(status[1]), status: s, buildclient: null, time: `2024-01-01 00:00:0${i}` }));
        // pyBit clients compare the content type exactly.
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(rows));
        return;
      }
      const job = /^\/job\/(\d+)$/.exec(url.pathname);
      if (job && (req.method === 'PUT' || req.method === 'POST')) {
        const form = new URLSearchParams(body);
        const id = Number(job[1]);
        const s = form.get('status') ?? '';
        puts.push({ jobId: id, status: s, client: form.get('client'), auth: req.headers.authorization });
        const h = history.get(id) ?? [];
        h.push(s);
        history.set(id, h);
        res.writeHead(200).end();
        return;
      }
      res.writeHead(404).end('not found');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    webHost: `127.0.0.1:${port}`,
    history,
    puts,
    requests,
    setStatus(jobId, s) {
      const h = history.get(jobId) ?? [];
      h.push(s);
      history.set(jobId, h);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
