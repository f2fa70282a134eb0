// The librarian: content-addressed storage with SHA-1/SHA-256 computed while streaming, atomic
// placement, checked names; and its HTTP face (uploads, Range requests, 416, bad names).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileStore, checkFileName, parseRange } from '../../src-main/controller/store/file-store';
import { FileInfo, workerPaths } from '../../src-shared/worker-api';
import { startTestController, type TestController } from '../helpers/controller';
import { DIALECTS, tempDir } from '../helpers/db';

const hash = (alg: string, b: Buffer | string) => createHash(alg).update(b).digest('hex');

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe('FileStore', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: FileStore;
  beforeEach(() => {
    dir = tempDir();
    store = new FileStore(join(dir.dir, 'files'));
  });
  afterEach(() => dir.cleanup());

  it('stores a stream under its SHA-1 with both hashes and the size', async () => {
    const data = randomBytes(1_000_003);
    const f = await store.put(chunks(data, 65_536));
    expect(f).toEqual({ sha1: hash('sha1', data), sha256: hash('sha256', data), size: data.length });
    const path = join(dir.dir, 'files', f.sha1.slice(0, 2), f.sha1);
    expect(store.path(f.sha1)).toBe(path);
    expect(readFileSync(path).equals(data)).toBe(true);
    expect(await store.size(f.sha1)).toBe(data.length);
    // The same content again is the same file.
    expect(await store.put(Readable.from([data]))).toEqual(f);
    expect(readdirSync(join(dir.dir, 'files', 'tmp'))).toEqual([]);
  });

  it('stores an empty file', async () => {
    const f = await store.put(Readable.from([]));
    expect(f).toEqual({ sha1: hash('sha1', ''), sha256: hash('sha256', ''), size: 0 });
    expect(await store.size(f.sha1)).toBe(0);
  });

  it('leaves nothing behind when an upload is too large, has the wrong hash, or fails', async () => {
    const data = randomBytes(10_000);
    await expect(store.put(chunks(data, 1000), { maxBytes: 5000 })).rejects.toMatchObject({ statusCode: 413 });
    await expect(store.put(chunks(data, 1000), { expectSha256: hash('sha256', 'other') })).rejects.toMatchObject({ statusCode: 400 });
    async function* broken(): AsyncGenerator<Buffer> {
      yield data.subarray(0, 100);
      throw new Error('connection reset');
    }
    await expect(store.put(broken())).rejects.toThrow('connection reset');
    expect(readdirSync(join(dir.dir, 'files', 'tmp'))).toEqual([]);
    expect(await store.size(hash('sha1', data))).toBeNull();
    expect(existsSync(join(dir.dir, 'files', hash('sha1', data).slice(0, 2)))).toBe(false);
  });

  it('checks names and hashes', () => {
    for (const bad of ['', '..', '.', 'a/b', 'a\\b', '../x', 'x..y', 'a\nb', 'x'.repeat(256)]) {
      expect(() => checkFileName(bad), JSON.stringify(bad)).toThrow();
    }
    for (const good of ['hello_1.0-1_amd64.deb', 'hello_1.0.orig.tar.gz', '.hidden', 'größe.txt']) expect(checkFileName(good)).toBe(good);
    expect(() => store.path('../../etc/passwd')).toThrow(/SHA-1/);
    expect(() => store.path('A'.repeat(40))).toThrow(/SHA-1/);
  });

  it('parses single byte ranges', () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=50-1000', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange('items=0-1', 100)).toBeNull();
    expect(parseRange('bytes=9-3', 100)).toBeNull();
  });
});

describe.each(DIALECTS)('librarian over HTTP ($name)', ({ make }) => {
  let t: TestController;
  beforeEach(async () => {
    t = await startTestController(make);
  });
  afterEach(async () => {
    await t.close();
  });

  const upload = (name: string, data: Buffer | string) =>
    t.req('POST', `${workerPaths.files}?name=${encodeURIComponent(name)}`, { raw: data, contentType: 'application/octet-stream', auth: true });

  it('stores a raw upload and serves it whole and in ranges', async () => {
    const data = randomBytes(70_000);
    const r = await upload('hello_1.0.orig.tar.gz', data);
    expect(r.status).toBe(200);
    const info = FileInfo.parse(r.json());
    expect(info).toMatchObject({ sha1: hash('sha1', data), sha256: hash('sha256', data), size: data.length });
    expect(info.url).toBe(`${t.url}/files/${info.sha1}/hello_1.0.orig.tar.gz`);
    expect(await t.count('files')).toBe(1);

    const whole = await fetch(info.url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(data.length));
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);

    const part = await fetch(info.url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${data.length}`);
    expect(part.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);

    const suffix = await fetch(info.url, { headers: { range: 'bytes=-10' } });
    expect(suffix.status).toBe(206);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(data.subarray(data.length - 10))).toBe(true);

    const open = await fetch(info.url, { headers: { range: `bytes=${data.length - 5}-` } });
    expect(Buffer.from(await open.arrayBuffer()).equals(data.subarray(data.length - 5))).toBe(true);

    const beyond = await fetch(info.url, { headers: { range: `bytes=${data.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${data.length}`);

    // Without a name, and HEAD.
    const bare = await fetch(`${t.url}/files/${info.sha1}`);
    expect(Buffer.from(await bare.arrayBuffer()).equals(data)).toBe(true);
    const head = await fetch(info.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
  });

  it('streams uploads larger than the JSON body limit', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const r = await upload('big.tar', data);
    expect(r.status).toBe(200);
    expect(FileInfo.parse(r.json()).sha256).toBe(hash('sha256', data));
  });

  it('stores multipart uploads under their file names', async () => {
    const fd = new FormData();
    fd.append('file', new Blob([Buffer.from('Source: hello\n')]), 'hello_1.0-1.dsc');
    const r = await fetch(`${t.url}${workerPaths.files}`, { method: 'POST', body: fd, headers: { authorization: `Basic ${Buffer.from('admin:pass').toString('base64')}` } });
    expect(r.status).toBe(200);
    const info = FileInfo.parse(await r.json());
    expect(info.sha256).toBe(hash('sha256', 'Source: hello\n'));
    expect(info.url.endsWith('/hello_1.0-1.dsc')).toBe(true);
    const got = await fetch(info.url);
    expect(got.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await got.text()).toBe('Source: hello\n');
  });

  it('refuses bad names, bad hashes, anonymous uploads and unknown files', async () => {
    for (const name of ['..', 'a/b', 'x..y']) {
      const r = await upload(name, 'data');
      expect(r.status, name).toBe(400);
      expect(r.json().error).toMatch(/name/);
    }
    expect((await t.req('POST', workerPaths.files, { raw: 'data', contentType: 'application/octet-stream', auth: true })).status).toBe(400);
    const anon = await t.req('POST', `${workerPaths.files}?name=a.txt`, { raw: 'data', contentType: 'application/octet-stream' });
    expect(anon.status).toBe(401);
    const badSum = await t.req('POST', `${workerPaths.files}?name=a.txt&sha256=xyz`, { raw: 'data', contentType: 'application/octet-stream', auth: true });
    expect(badSum.status).toBe(400);
    expect(await t.count('files')).toBe(0);

    const info = FileInfo.parse((await upload('ok.txt', 'data')).json());
    expect((await fetch(`${t.url}/files/${info.sha1}/..%2F..%2Fetc%2Fpasswd`)).status).toBe(400);
    expect((await fetch(`${t.url}/files/${info.sha1}/a%2Fb`)).status).toBe(400);
    expect((await fetch(`${t.url}/files/not-a-sha1/x`)).status).toBe(400);
    expect((await fetch(`${t.url}/files/${'0'.repeat(40)}/x`)).status).toBe(404);
  });
});
