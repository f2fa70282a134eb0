// LogStore: offset-addressed appends (resend, overlap, gap), serialised concurrent writers,
// range reads and the rotation that starts a new attempt's log.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogStore } from '../../src-main/controller/store/log-store';
import { tempDir } from '../helpers/db';

describe('LogStore', () => {
  let dir: ReturnType<typeof tempDir>;
  let logs: LogStore;
  beforeEach(() => {
    dir = tempDir();
    logs = new LogStore(join(dir.dir, 'logs'));
  });
  afterEach(() => dir.cleanup());

  it('appends at the end only, accepting resends and the new tail of an overlap', async () => {
    expect(await logs.length(1)).toBe(0);
    expect(await logs.append(1, 0, Buffer.from('abc'))).toEqual({ ok: true, length: 3, appended: 3, offset: 0 });
    expect(await logs.append(1, 0, Buffer.from('abc'))).toEqual({ ok: true, length: 3, appended: 0, offset: 3 });
    expect(await logs.append(1, 1, Buffer.from('bc'))).toEqual({ ok: true, length: 3, appended: 0, offset: 3 });
    expect(await logs.append(1, 2, Buffer.from('cdef'))).toEqual({ ok: true, length: 6, appended: 3, offset: 3 });
    expect(await logs.append(1, 10, Buffer.from('x'))).toEqual({ ok: false, length: 6 });
    expect(readFileSync(logs.path(1), 'utf8')).toBe('abcdef');
    expect(await logs.append(1, 6, Buffer.alloc(0))).toEqual({ ok: true, length: 6, appended: 0, offset: 6 });
  });

  it('serialises concurrent appends to one log', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.from(`line ${String(i).padStart(3, '0')}\n`));
    let offset = 0;
    const offsets = parts.map((p) => {
      const o = offset;
      offset += p.length;
      return o;
    });
    // Sent all at once, each with its right offset: every one lands, in order.
    const results = await Promise.all(parts.map((p, i) => logs.append(7, offsets[i]!, p)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(readFileSync(logs.path(7)).equals(Buffer.concat(parts))).toBe(true);
  });

  it('reads ranges and clamps at the end', async () => {
    await logs.append(2, 0, Buffer.from('0123456789'));
    expect((await logs.read(2, 2, 3)).toString()).toBe('234');
    expect((await logs.read(2, 8, 100)).toString()).toBe('89');
    expect((await logs.read(2, 10, 5)).length).toBe(0);
    expect((await logs.read(3, 0, 5)).length).toBe(0);
  });

  it('keeps earlier attempts aside when a new attempt starts', async () => {
    await logs.rotate(4); // nothing to keep yet
    await logs.append(4, 0, Buffer.from('first\n'));
    await logs.rotate(4);
    expect(await logs.length(4)).toBe(0);
    await logs.append(4, 0, Buffer.from('second\n'));
    await logs.rotate(4);
    await logs.append(4, 0, Buffer.from('third\n'));
    const files = readdirSync(join(dir.dir, 'logs')).sort();
    expect(files).toEqual(['4.attempt1.log', '4.attempt2.log', '4.log']);
    expect(readFileSync(join(dir.dir, 'logs', '4.attempt1.log'), 'utf8')).toBe('first\n');
    expect(readFileSync(join(dir.dir, 'logs', '4.attempt2.log'), 'utf8')).toBe('second\n');
    expect(readFileSync(logs.path(4), 'utf8')).toBe('third\n');
  });
});
