// Build logs and artifacts over real HTTP on SQLite and PostgreSQL: offset-addressed appends
// (resend, overlap, gap), byte-range reads, the SSE live tail, and artifact uploads that round
// trip through the librarian with matching hashes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { ArtifactInfo, ArtifactUploadResponse, LogChunkEvent, workerPaths } from '../../src-shared/worker-api';
import { waitFor } from '../helpers/controller';
import { DIALECTS } from '../helpers/db';
import { startWorkerTest, type WorkerTest } from './worker-api-helpers';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex');

interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/** Reads an SSE stream until it ends (or `stop` says so), collecting the events. */
function readSse(url: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  const ctl = new AbortController();
  let ended = false;
  const done = (async () => {
    const res = await fetch(url, { headers, signal: ctl.signal });
    if (res.status !== 200) throw new Error(`SSE ${res.status}: ${await res.text()}`);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev: SseEvent = { event: 'message', data: null };
        let data: string | null = null;
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) ev.event = line.slice(7);
          else if (line.startsWith('id: ')) ev.id = line.slice(4);
          else if (line.startsWith('data: ')) data = line.slice(6);
        }
        if (data === null) continue;
        ev.data = JSON.parse(data);
        events.push(ev);
      }
    }
    ended = true;
  })().catch((e) => {
    if ((e as Error).name !== 'AbortError') throw e;
  });
  const text = () =>
    events
      .filter((e) => e.event === 'log')
      .map((e) => LogChunkEvent.parse(e.data).text)
      .join('');
  return { events, done, text, ended: () => ended, abort: () => ctl.abort() };
}

describe.each(DIALECTS)('worker logs and artifacts ($name)', ({ make }) => {
  let w: WorkerTest;
  beforeEach(async () => {
    w = await startWorkerTest(make);
  });
  afterEach(async () => {
    await w.close();
  });

  async function building(worker = 'build_client_a'): Promise<number> {
    const id = await w.submit();
    const r = await w.claim(id, worker);
    if (r.status !== 200) throw new Error(`claim: ${r.status} ${r.text}`);
    return id;
  }

  it('appends at the end, accepts a resent chunk unchanged, and refuses a gap with the length', async () => {
    const id = await building();
    let r = await w.putLog(id, 'build_client_a', 0, 'hello ');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ length: 6 });
    r = await w.putLog(id, 'build_client_a', 6, 'world\n', 'text/plain');
    expect(r.json()).toEqual({ length: 12 });
    // The same chunk again (the answer was lost): nothing changes.
    r = await w.putLog(id, 'build_client_a', 6, 'world\n');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ length: 12 });
    // A gap: 409 with the length to resume from.
    r = await w.putLog(id, 'build_client_a', 20, 'lost');
    expect(r.status).toBe(409);
    expect(r.json().length).toBe(12);
    // Overlapping: only the new tail is added. POST works like PUT.
    r = await w.t.req('POST', `${workerPaths.log(id)}?offset=6&worker=build_client_a`, { raw: 'world\nmore\n', contentType: 'application/octet-stream', auth: w.auth });
    expect(r.json()).toEqual({ length: 17 });

    const all = await w.t.get(workerPaths.log(id));
    expect(all.status).toBe(200);
    expect(all.text).toBe('hello world\nmore\n');
    expect(all.headers.get('x-log-length')).toBe('17');
  });

  it('keeps bytes exact across chunks that split a UTF-8 character', async () => {
    const id = await building();
    const bytes = Buffer.from('größe ✓ done\n', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1; // inside "ö"
    await w.putLog(id, 'build_client_a', 0, bytes.subarray(0, cut), 'text/plain');
    await w.putLog(id, 'build_client_a', cut, bytes.subarray(cut), 'text/plain; charset=utf-8');
    const r = await fetch(w.t.url + workerPaths.log(id));
    expect(Buffer.from(await r.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('serves byte ranges with the total length', async () => {
    const id = await building();
    const data = randomBytes(5000).toString('hex'); // 10000 bytes of text
    await w.putLog(id, 'build_client_a', 0, data);
    const r = await w.t.get(`${workerPaths.log(id)}?offset=100&length=50`);
    expect(r.status).toBe(200);
    expect(r.text).toBe(data.slice(100, 150));
    expect(r.headers.get('x-log-length')).toBe('10000');
    const tail = await w.t.get(`${workerPaths.log(id)}?offset=9990`);
    expect(tail.text).toBe(data.slice(9990));
    const past = await w.t.get(`${workerPaths.log(id)}?offset=20000&length=10`);
    expect(past.status).toBe(200);
    expect(past.text).toBe('');
    expect(past.headers.get('x-log-length')).toBe('10000');
    expect((await w.t.get(`${workerPaths.log(id)}?offset=-1`)).status).toBe(400);
    expect((await w.t.get(workerPaths.log(999_999))).status).toBe(404);
    // A job without any log yet reads as empty.
    const other = await w.submit();
    const empty = await w.t.get(workerPaths.log(other));
    expect(empty.status).toBe(200);
    expect(empty.headers.get('x-log-length')).toBe('0');
    const emptyTail = await w.t.get(`${workerPaths.log(other)}?tail=100`);
    expect([emptyTail.status, emptyTail.text, emptyTail.headers.get('x-log-offset')]).toEqual([200, '', '0']);
  });

  it('serves the last N bytes with where they start (?tail=)', async () => {
    const id = await building();
    const data = randomBytes(5000).toString('hex');
    await w.putLog(id, 'build_client_a', 0, data);
    const r = await w.t.get(`${workerPaths.log(id)}?tail=300`);
    expect(r.status).toBe(200);
    expect(r.text).toBe(data.slice(9700));
    expect(r.headers.get('x-log-offset')).toBe('9700');
    expect(r.headers.get('x-log-size')).toBe('10000');
    // More than there is: all of it, from 0.
    const all = await w.t.get(`${workerPaths.log(id)}?tail=1000000`);
    expect([all.text.length, all.headers.get('x-log-offset')]).toEqual([10000, '0']);
    const both = await w.t.get(`${workerPaths.log(id)}?tail=10&offset=5`);
    expect(both.status).toBe(400);
    expect(both.text).toContain("either 'tail' or 'offset'/'length'");
    expect((await w.t.get(`${workerPaths.log(id)}?tail=-5`)).status).toBe(400);
  });

  it('lets only the lease owner write, and needs the worker name and offset', async () => {
    const id = await building();
    const stranger = await w.putLog(id, 'build_client_b', 0, 'x');
    expect(stranger.status).toBe(409);
    expect(stranger.json().leaseOwner).toBe('build_client_a');
    const noWorker = await w.t.req('PUT', `${workerPaths.log(id)}?offset=0`, { raw: 'x', contentType: 'application/octet-stream', auth: w.auth });
    expect(noWorker.status).toBe(400);
    expect(noWorker.json().error).toMatch(/worker/);
    // The header works as well as the query parameter.
    const byHeader = await w.t.req('PUT', `${workerPaths.log(id)}?offset=0`, {
      raw: 'x',
      contentType: 'application/octet-stream',
      auth: w.auth,
      headers: { 'x-buildbox-worker': 'build_client_a' },
    });
    expect(byHeader.status).toBe(200);
    const noOffset = await w.t.req('PUT', `${workerPaths.log(id)}?worker=build_client_a`, { raw: 'x', contentType: 'application/octet-stream', auth: w.auth });
    expect(noOffset.status).toBe(400);
    expect(noOffset.json().error).toMatch(/offset/);
    expect((await w.t.get(workerPaths.log(id))).text).toBe('x');
    // Once the job is finished, no more writes.
    await w.finish(id, { worker: 'build_client_a', status: 'Done' });
    expect((await w.putLog(id, 'build_client_a', 1, 'y')).status).toBe(409);
  });

  it('tails a live log over SSE from an offset and ends when the job finishes', async () => {
    const id = await building();
    await w.putLog(id, 'build_client_a', 0, 'line 1\n');
    const events: Array<{ jobId: number; offset: number; length: number }> = [];
    const off = w.t.c.ctx.events.on((e) => e.type === 'job.log' && events.push(e));
    const sse = readSse(`${w.t.url}${workerPaths.logStream(id)}?offset=2`);
    await waitFor('the catch-up chunk', () => sse.text() === 'ne 1\n');
    await w.putLog(id, 'build_client_a', 7, 'line 2\n');
    await waitFor('the live chunk', () => sse.text() === 'ne 1\nline 2\n');
    await w.putLog(id, 'build_client_a', 14, 'line 3\n');
    await w.finish(id, { worker: 'build_client_a', status: 'Done' });
    await sse.done;
    off();
    expect(sse.ended()).toBe(true);
    expect(sse.text()).toBe('ne 1\nline 2\nline 3\n');
    const last = sse.events.at(-1)!;
    expect(last.event).toBe('end');
    expect(last.data).toEqual({ status: 'Done', length: 21 });
    // Event ids are the next byte offset, so a reconnect can resume with Last-Event-ID.
    const logs = sse.events.filter((e) => e.event === 'log');
    expect(logs.at(-1)!.id).toBe('21');
    expect(events.map((e) => [e.offset, e.length])).toEqual([
      [7, 7],
      [14, 7],
    ]);

    // A finished job's stream sends the rest and ends at once; Last-Event-ID wins over ?offset.
    const again = readSse(`${w.t.url}${workerPaths.logStream(id)}?offset=0`, { 'last-event-id': '14' });
    await again.done;
    expect(again.text()).toBe('line 3\n');
    expect(again.events.at(-1)!.event).toBe('end');
  });

  it('ends open log streams when the controller shuts down', async () => {
    const id = await building();
    await w.putLog(id, 'build_client_a', 0, 'partial\n');
    const sse = readSse(`${w.t.url}${workerPaths.logStream(id)}`);
    await waitFor('the catch-up chunk', () => sse.text() === 'partial\n');
    await w.t.c.close(); // would wait for ever if the stream stayed open
    await sse.done;
    expect(sse.ended()).toBe(true);
  });

  it('starts the log of a new attempt at offset 0 and keeps the old one aside', async () => {
    const id = await building();
    await w.putLog(id, 'build_client_a', 0, 'first attempt\n');
    await w.finish(id, { worker: 'build_client_a', status: 'Blocked', result: 'GIVENBACK' });
    expect((await w.claim(id, 'build_client_b')).status).toBe(200);
    expect((await w.t.get(workerPaths.log(id))).text).toBe('');
    expect((await w.putLog(id, 'build_client_b', 0, 'second\n')).status).toBe(200);
    expect((await w.t.get(workerPaths.log(id))).text).toBe('second\n');
  });

  it('stores artifacts in the librarian and lists them with matching hashes', async () => {
    const id = await building();
    const deb = randomBytes(300_000);
    const q = `worker=build_client_a&sha256=${sha256(deb)}`;
    // Raw PUT to the artifact's own path, as the worker sends them.
    const put = await w.t.req('PUT', `${workerPaths.artifact(id, 'hello_1.0-1_amd64.deb')}?${q}`, { raw: deb, contentType: 'application/octet-stream', auth: w.auth });
    expect(put.status).toBe(200);
    const up = ArtifactUploadResponse.parse(put.json());
    expect(up).toMatchObject({ name: 'hello_1.0-1_amd64.deb', size: deb.length, sha256: sha256(deb), sha1: sha1(deb) });

    // Raw POST with ?name=, and multipart.
    const changes = 'Format: 1.8\nSource: hello\n';
    const post = await w.t.req('POST', `${workerPaths.artifacts(id)}?name=hello_1.0-1_amd64.changes&worker=build_client_a`, { raw: changes, contentType: 'text/plain', auth: w.auth });
    expect(post.status).toBe(200);
    const fd = new FormData();
    fd.append('file', new Blob([Buffer.from('build log\n')]), 'hello_1.0-1_amd64.build');
    fd.append('file', new Blob([Buffer.from('{}')]), 'extra.json');
    const mp = await fetch(`${w.t.url}${workerPaths.artifacts(id)}?worker=build_client_a`, { method: 'POST', body: fd, headers: { authorization: w.auth.header } });
    expect(mp.status).toBe(200);
    expect(((await mp.json()) as any).artifacts.map((a: ArtifactInfo) => a.name)).toEqual(['hello_1.0-1_amd64.build', 'extra.json']);

    const list = await w.t.get(workerPaths.artifacts(id));
    expect(list.status).toBe(200);
    const arts = list.json<unknown[]>().map((a) => ArtifactInfo.parse(a));
    expect(arts.map((a) => a.name)).toEqual(['extra.json', 'hello_1.0-1_amd64.build', 'hello_1.0-1_amd64.changes', 'hello_1.0-1_amd64.deb']);
    for (const a of arts) {
      const r = await fetch(a.url);
      expect(r.status).toBe(200);
      const body = Buffer.from(await r.arrayBuffer());
      expect(sha256(body)).toBe(a.sha256);
      expect(body.length).toBe(a.size);
    }
    expect(arts.find((a) => a.name.endsWith('.deb'))!.sha256).toBe(sha256(deb));

    // Uploading the same name again replaces the entry.
    await w.t.req('PUT', `${workerPaths.artifact(id, 'extra.json')}?worker=build_client_a`, { raw: '[]', contentType: 'application/octet-stream', auth: w.auth });
    const after = (await w.t.get(workerPaths.artifacts(id))).json<ArtifactInfo[]>();
    expect(after).toHaveLength(4);
    expect(after.find((a) => a.name === 'extra.json')!.sha256).toBe(sha256('[]'));
  });

  it('refuses artifacts with a wrong hash, a bad name or from someone else, storing nothing', async () => {
    const id = await building();
    const files = () => w.t.count('files');
    const wrong = await w.t.req('PUT', `${workerPaths.artifact(id, 'a.deb')}?worker=build_client_a&sha256=${'0'.repeat(64)}`, { raw: 'data', contentType: 'application/octet-stream', auth: w.auth });
    expect(wrong.status).toBe(400);
    expect(wrong.json().error).toMatch(/sha256/);
    for (const name of ['..', 'a..b', 'sub%2Fdir.deb']) {
      const r = await w.t.req('POST', `${workerPaths.artifacts(id)}?name=${name}&worker=build_client_a`, { raw: 'data', contentType: 'application/octet-stream', auth: w.auth });
      expect(r.status, name).toBe(400);
      expect(r.json().error).toMatch(/name/);
    }
    const noName = await w.t.req('POST', `${workerPaths.artifacts(id)}?worker=build_client_a`, { raw: 'data', contentType: 'application/octet-stream', auth: w.auth });
    expect(noName.status).toBe(400);
    const stranger = await w.t.req('PUT', `${workerPaths.artifact(id, 'a.deb')}?worker=build_client_b`, { raw: 'data', contentType: 'application/octet-stream', auth: w.auth });
    expect(stranger.status).toBe(409);
    expect(await files()).toBe(0);
    expect(await w.t.count('artifacts')).toBe(0);
    expect((await w.t.get(workerPaths.artifacts(id))).json()).toEqual([]);
    expect((await w.t.get(workerPaths.artifacts(999_999))).status).toBe(404);
  });
});
