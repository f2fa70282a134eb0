// POST /api/v1/uploads: a .dsc (or a .changes naming one) and its files, as dput sends them.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSourcePackage } from '../fixtures/make-package';
import { DIALECTS, uniqueName } from '../helpers/db';
import { getBytes, startFarm, type Farm } from './helpers';

let farm: Farm | null = null;
afterEach(async () => {
  await farm?.close();
  farm = null;
});

const sum = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');

function sourceFiles(f: Farm, name: string): { files: Record<string, Buffer>; dsc: string; tar: string } {
  const dir = join(f.dir, uniqueName('src'));
  mkdirSync(dir, { recursive: true });
  const pkg = makeSourcePackage(dir, { name });
  const files = Object.fromEntries(pkg.files.map((n) => [n, readFileSync(join(dir, n))]));
  return { files, dsc: pkg.files.find((n) => n.endsWith('.dsc'))!, tar: pkg.files.find((n) => n.includes('.tar'))! };
}

async function counts(f: Farm): Promise<Record<string, number>> {
  const k = f.c.ctx.db.kysely;
  const out: Record<string, number> = {};
  for (const t of ['package', 'packageinstance', 'job', 'buildrequest', 'files', 'source_files'] as const) {
    out[t] = Number((await k.selectFrom(t as 'job').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  }
  return out;
}

describe.each(DIALECTS)('source uploads ($name)', ({ make }) => {
  it('stores a .dsc and its files in the librarian and creates jobs whose source is the .dsc URL', async () => {
    farm = await startFarm(make, { scanIntervalMs: 0 });
    const { files, dsc } = sourceFiles(farm, 'bbup-good');
    const r = await farm.postFiles('/api/v1/uploads', files, { suite: farm.suite, distribution: 'Debian' });
    expect(r.status, r.text).toBe(201);
    const body = r.json();
    expect(body).toMatchObject({ package: 'bbup-good', version: '1.0', cancelled: [] });
    expect(body.jobIds).toHaveLength(1);
    expect(body.dsc.name).toBe(dsc);
    expect(body.dsc.sha1).toBe(sum('sha1', files[dsc]!));
    expect(body.files.map((x: any) => x.name).sort()).toEqual(Object.keys(files).sort());
    // Every stored file is served back byte for byte at its URL.
    for (const fi of body.files) {
      const got = (await getBytes(fi.url)).body;
      expect(sum('sha256', got)).toBe(sum('sha256', files[fi.name]!));
    }
    const br = await farm.c.ctx.db.kysely.selectFrom('buildrequest').selectAll().where('job', '=', body.jobIds[0]).executeTakeFirstOrThrow();
    expect(br).toMatchObject({ method: 'dsc', uri: body.dsc.url });
    expect((await farm.job(body.jobIds[0])).status).toBe('Waiting');
  });

  it('refuses a wrong checksum, a missing file and an unknown suite, naming the problem, and creates nothing', async () => {
    farm = await startFarm(make, { scanIntervalMs: 0 });
    const { files, dsc, tar } = sourceFiles(farm, 'bbup-bad');
    const before = await counts(farm);
    const tampered = { ...files, [tar]: Buffer.concat([files[tar]!.subarray(0, files[tar]!.length - 1), Buffer.from([files[tar]!.at(-1)! ^ 1])]) };
    let r = await farm.postFiles('/api/v1/uploads', tampered, { suite: farm.suite, distribution: 'Debian' });
    expect(r.status, r.text).toBe(400);
    expect(r.json().error).toContain(tar);
    expect(r.json().error).toMatch(/checksum/);

    const { [tar]: _dropped, ...missing } = files;
    r = await farm.postFiles('/api/v1/uploads', missing, { suite: farm.suite, distribution: 'Debian' });
    expect(r.status).toBe(400);
    expect(r.json().error).toContain(`${tar}: listed in ${dsc} but not uploaded`);

    r = await farm.postFiles('/api/v1/uploads', files, { suite: 'no-such-suite', distribution: 'Debian' });
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/suite/);

    r = await farm.postFiles('/api/v1/uploads', { ...files, 'stray.txt': 'hello' }, { suite: farm.suite, distribution: 'Debian' });
    expect(r.status).toBe(400);
    expect(r.json().error).toContain('stray.txt');

    r = await farm.postFiles('/api/v1/uploads', files, { suite: farm.suite, colour: 'red' });
    expect(r.status).toBe(400);
    expect(r.json().error).toContain('colour');

    r = await farm.postFiles('/api/v1/uploads', files, { suite: farm.suite }, false);
    expect(r.status).toBe(401);
    expect(await counts(farm)).toEqual(before);
  });

  it('accepts a .changes naming the .dsc, and checks the .changes checksums too', async () => {
    farm = await startFarm(make, { scanIntervalMs: 0 });
    const { files, dsc } = sourceFiles(farm, 'bbup-changes');
    const names = Object.keys(files);
    const changes = (tamper: boolean) =>
      [
        'Format: 1.8',
        'Source: bbup-changes',
        'Architecture: source',
        'Version: 1.0',
        `Distribution: ${farm!.suite}`,
        'Checksums-Sha256:',
        ...names.map((n) => ` ${tamper && n === dsc ? '0'.repeat(64) : sum('sha256', files[n]!)} ${files[n]!.length} ${n}`),
        'Files:',
        ...names.map((n) => ` ${sum('md5', files[n]!)} ${files[n]!.length} misc optional ${n}`),
        '',
      ].join('\n');
    let r = await farm.postFiles('/api/v1/uploads', { ...files, 'bbup-changes_1.0_source.changes': changes(true) }, { distribution: 'Debian' });
    expect(r.status).toBe(400);
    expect(r.json().error).toContain(dsc);
    // The suite comes from the .changes' Distribution.
    r = await farm.postFiles('/api/v1/uploads', { ...files, 'bbup-changes_1.0_source.changes': changes(false) }, { distribution: 'Debian' });
    expect(r.status, r.text).toBe(201);
    expect(r.json().jobIds).toHaveLength(1);
    expect(r.json().files.map((f: any) => f.name)).toContain('bbup-changes_1.0_source.changes');
  });
});
