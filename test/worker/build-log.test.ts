import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildLogPath, FileBuildLog, MemoryBuildLog } from '../../src-worker/build-log';
import { LogStreamer } from '../../src-worker/log-streamer';
import { scrubCredentials } from '../../src-worker/scrub';
import { tempDirs, until } from './helpers';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

describe('scrubCredentials (launchpad-buildd §3.6)', () => {
  it('removes user:password@ from URLs', () => {
    expect(scrubCredentials('GET http://buildd:secret@ftpmaster.internal/x')).toBe('GET http://ftpmaster.internal/x');
    expect(scrubCredentials('deb https://u:p%40ss@ppa.example/ubuntu jammy main')).toBe('deb https://ppa.example/ubuntu jammy main');
    expect(scrubCredentials('a http://a:b@h1 and ftp://c:d@h2')).toBe('a http://h1 and ftp://h2');
  });

  it('removes proxyauth fragments and leaves other text alone', () => {
    expect(scrubCredentials('socat TCP:proxy:3128,proxyauth=user:0f1e-2d3c rest')).toBe('socat TCP:proxy:3128 rest');
    expect(scrubCredentials('no URLs here: user:pass@host')).toBe('no URLs here: user:pass@host');
    expect(scrubCredentials('http://host:8080/path and git@github.com:x')).toBe('http://host:8080/path and git@github.com:x');
    expect(scrubCredentials('http://user@host/')).toBe('http://user@host/');
  });
});

describe('build logs', () => {
  it('names log files the way pyBit does', () => {
    expect(buildLogPath('/srv/b', 'hello', '1.0-1', 'i386', 1700000000.7)).toBe('/srv/b/logs/hello_1.0-1-i386-1700000000');
    expect(() => buildLogPath('/srv/b', '../x', '1', 'i386', 1)).toThrow();
  });

  it('appends, scrubs, and serves new bytes by offset', async () => {
    const path = join(dirs.make(), 'logs', 'x_1-amd64-1');
    const log = new FileBuildLog(path);
    log.write('line one https://u:pw@example.org/\n');
    const first = await log.readChunk(0);
    expect(first.data.toString()).toBe('line one https://example.org/\n');
    expect(first.next).toBe(log.size);
    log.write('ünïcode two\n');
    const second = await log.readChunk(first.next);
    expect(second.data.toString()).toBe('ünïcode two\n');
    expect(second.next).toBe(Buffer.byteLength(readFileSync(path, 'utf8')));
    expect((await log.readChunk(second.next)).data.length).toBe(0);
    const limited = await log.readChunk(0, 4);
    expect(limited.data.toString()).toBe('line');
    log.close();
    log.write('ignored after close\n');
    expect(readFileSync(path, 'utf8')).not.toContain('ignored');

    const again = new FileBuildLog(path); // a retry in the same second appends
    expect(again.size).toBe(second.next);
    again.close();
  });

  it('keeps an in-memory log for tests', () => {
    const m = new MemoryBuildLog();
    m.write('http://a:b@c\n');
    expect(m.text).toBe('http://c\n');
  });
});

describe('LogStreamer', () => {
  it('sends every byte in order, retrying chunks the sink refused', async () => {
    const log = new FileBuildLog(join(dirs.make(), 'l'));
    const received: Array<{ offset: number; text: string }> = [];
    let failNext = true;
    const errors: unknown[] = [];
    const streamer = new LogStreamer(
      log,
      async ({ offset, data }) => {
        if (failNext) {
          failNext = false;
          throw new Error('controller down');
        }
        received.push({ offset, text: data.toString() });
      },
      { intervalMs: 20, maxChunkBytes: 8, onError: (e) => errors.push(e) },
    );
    streamer.start();
    log.write('0123456789abcdef\n');
    await until(() => errors.length === 1 && received.length > 0); // a tick failed, a later one went through
    log.write('tail\n');
    await streamer.stop();
    expect(errors.length).toBe(1);
    expect(received.map((c) => c.text).join('')).toBe('0123456789abcdef\ntail\n');
    let expected = 0;
    for (const c of received) {
      expect(c.offset).toBe(expected);
      expected += Buffer.byteLength(c.text);
    }
    expect(streamer.sentOffset).toBe(log.size);
  });

  it('resumes from a given offset', async () => {
    const path = join(dirs.make(), 'l');
    writeFileSync(path, 'already sent\n');
    const log = new FileBuildLog(path);
    log.write('new\n');
    const got: string[] = [];
    const s = new LogStreamer(log, async ({ data }) => void got.push(data.toString()), { startOffset: 13 });
    await s.flush();
    expect(got.join('')).toBe('new\n');
  });
});
