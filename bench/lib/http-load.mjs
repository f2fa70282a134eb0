// HTTP load generator, run as a child process so that building and parsing requests neither
// shares the controller's event loop nor counts in the bench process's CPU time (which the bench
// reports per submission). Plain JavaScript: no TypeScript loader needed.
//
// Receives over IPC: { url, method, headers, form, concurrency, durationMs, maxRequests }
//   form values may contain `{i}`, replaced by the request's sequence number (unique names).
// Sends back: { started: true } when it begins, then { count, errors, firstError, latencies: Float64Array (ms per request) }.
import http from 'node:http';

const spec = await new Promise((resolve) => process.once('message', resolve));
const { url, method, headers, form, concurrency, durationMs, maxRequests } = spec;
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });

function body(i) {
  const parts = [];
  for (const [k, v] of Object.entries(form)) {
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v).replaceAll('{i}', String(i)))}`);
  }
  return parts.join('&');
}

function once(i) {
  const payload = body(i);
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method,
        headers: {
          ...headers,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(res.statusCode === 200 ? null : `HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        res.on('error', (e) => resolve(String(e)));
      },
    );
    req.on('error', (e) => resolve(String(e)));
    // A stuck request must end the run with an error, not hang the bench.
    req.setTimeout(30_000, () => req.destroy(new Error('no response within 30 s')));
    req.end(payload);
  });
}

const latencies = new Float64Array(Math.min(maxRequests, 1_000_000));
let next = 0;
let count = 0;
let errors = 0;
let firstError = null;
// The parent starts its clock (and CPU counters) on this message, not at fork time.
process.send({ started: true });
const deadline = performance.now() + durationMs;

async function client() {
  while (next < maxRequests && performance.now() < deadline) {
    const i = next++;
    const t0 = performance.now();
    const err = await once(i);
    latencies[count++] = performance.now() - t0;
    if (err) {
      errors++;
      firstError ??= err;
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, client));
agent.destroy();
const out = latencies.slice(0, count);
process.send({ count, errors, firstError, latencies: out }, () => process.disconnect());
