// Source uploads, as dput makes them: a .dsc (or a .changes naming one) and the files it lists.
// Every listed file must be present with the listed size and checksums before anything is
// stored; then the files go into the librarian and jobs are created exactly as process_job
// does, with the librarian URL of the .dsc as their source (method `dsc`).
import { createHash } from 'node:crypto';
import type { Ctx } from '../context';
import { HttpError } from '../http/errors';
import { checkFileName } from '../store/file-store';
import { processJob } from '../domain/process-job';
import { parseControlFile, type ControlFileInfo, type ListedFile } from '@shared/dsc';
import type { UploadResponse } from '@shared/builders-api';
import { librarianFor, type LibraryFile } from './librarian';

export interface UploadPart {
  name: string;
  data: Buffer;
}

export interface UploadFields {
  distribution?: string;
  suite?: string;
  format?: string;
  architecture_list?: string;
}

const digest = (algo: string, data: Buffer) => createHash(algo).update(data).digest('hex');

function parseControl(part: UploadPart): ControlFileInfo {
  try {
    return parseControlFile(part.data.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `${part.name}: not a usable control file: ${(e as Error).message}`);
  }
}

/** Checks one listed file against the uploaded bytes; the message names the file. */
function verify(listed: ListedFile, parts: Map<string, UploadPart>, listedIn: string): UploadPart {
  const part = parts.get(listed.name);
  if (!part) throw new HttpError(400, `${listed.name}: listed in ${listedIn} but not uploaded`);
  const d = part.data;
  if (d.length !== listed.size) throw new HttpError(400, `${listed.name}: size ${d.length} does not match ${listed.size} listed in ${listedIn}`);
  const checks: Array<[string | undefined, string, string]> = [
    [listed.sha256, 'sha256', 'SHA-256'],
    [listed.sha1, 'sha1', 'SHA-1'],
    [listed.md5, 'md5', 'MD5'],
  ];
  for (const [want, algo, label] of checks) {
    if (want && digest(algo, d) !== want) throw new HttpError(400, `${listed.name}: ${label} checksum does not match the one listed in ${listedIn}`);
  }
  if (!listed.sha256 && !listed.sha1 && !listed.md5) throw new HttpError(400, `${listed.name}: ${listedIn} lists no checksum for it`);
  return part;
}

export async function handleUpload(ctx: Ctx, uploaded: UploadPart[], fields: UploadFields): Promise<UploadResponse> {
  const parts = new Map<string, UploadPart>();
  for (const p of uploaded) {
    checkFileName(p.name, 'file name');
    if (parts.has(p.name)) throw new HttpError(400, `${p.name}: uploaded twice`);
    parts.set(p.name, p);
  }
  const changesParts = uploaded.filter((p) => p.name.endsWith('.changes'));
  if (changesParts.length > 1) throw new HttpError(400, `upload one .changes at a time (got ${changesParts.map((p) => p.name).join(', ')})`);
  const used = new Set<string>();
  let dscPart: UploadPart;
  let changesInfo: ControlFileInfo | undefined;
  if (changesParts.length === 1) {
    const changes = changesParts[0]!;
    used.add(changes.name);
    const info = (changesInfo = parseControl(changes));
    const dscs = info.files.filter((f) => f.name.endsWith('.dsc'));
    if (dscs.length !== 1) throw new HttpError(400, `${changes.name}: must name exactly one .dsc (names ${dscs.length}); binary uploads are not accepted here`);
    for (const f of info.files) {
      verify(f, parts, changes.name);
      used.add(f.name);
    }
    dscPart = parts.get(dscs[0]!.name)!;
  } else {
    const dscs = uploaded.filter((p) => p.name.endsWith('.dsc'));
    if (dscs.length !== 1) throw new HttpError(400, `file: upload exactly one .dsc or one .changes naming it (got ${dscs.length} .dsc files)`);
    dscPart = dscs[0]!;
  }
  used.add(dscPart.name);
  const dsc = parseControl(dscPart);
  if (!dsc.files.length) throw new HttpError(400, `${dscPart.name}: lists no files`);
  for (const f of dsc.files) {
    verify(f, parts, dscPart.name);
    used.add(f.name);
  }
  const extra = uploaded.filter((p) => !used.has(p.name));
  if (extra.length) throw new HttpError(400, `${extra[0]!.name}: not listed in ${changesParts[0]?.name ?? dscPart.name}`);

  // Check the target before storing anything, so that a wrong suite leaves nothing behind.
  const db = ctx.db.kysely;
  const suite = fields.suite ?? changesInfo?.fields.get('distribution')?.split(/\s+/)[0];
  if (!suite) throw new HttpError(400, 'suite: required (the target suite)');
  if (!(await db.selectFrom('suite').select('id').where('name', '=', suite).executeTakeFirst())) throw new HttpError(400, `suite: unknown suite '${suite}'`);
  let dist = fields.distribution;
  if (!dist) {
    const dists = await db.selectFrom('distribution').select('name').execute();
    if (dists.length !== 1) throw new HttpError(400, 'distribution: required when the controller knows more than one distribution');
    dist = dists[0]!.name;
  }
  if (!(await db.selectFrom('distribution').select('id').where('name', '=', dist).executeTakeFirst())) throw new HttpError(400, `distribution: unknown distribution '${dist}'`);
  const format = fields.format ?? 'deb';
  if (!(await db.selectFrom('format').select('id').where('name', '=', format).executeTakeFirst())) throw new HttpError(400, `format: unknown format '${format}'`);
  const arches = fields.architecture_list ?? (dsc.architecture.join(' ') || 'any');

  const lib = librarianFor(ctx);
  const sourceNames = [dscPart.name, ...dsc.files.map((f) => f.name)];
  const stored = new Map<string, LibraryFile>();
  for (const name of new Set([...used])) stored.set(name, await lib.put(parts.get(name)!.data, name));
  const dscFile = stored.get(dscPart.name)!;
  for (const name of sourceNames) {
    const f = stored.get(name)!;
    await db
      .insertInto('source_files')
      .values({ dsc_sha1: dscFile.sha1, name, sha1: f.sha1, sha256: f.sha256, size: f.size })
      .onConflict((oc) => oc.columns(['dsc_sha1', 'name']).doNothing())
      .execute();
  }
  const res = await processJob(ctx, {
    dist,
    arches,
    version: dsc.version,
    name: dsc.source,
    suite,
    format,
    transport: { method: 'dsc', uri: dscFile.url, vcsId: '' },
  });
  const info = (name: string) => ({ name, ...stored.get(name)! });
  return {
    package: dsc.source,
    version: dsc.version,
    dsc: info(dscPart.name),
    files: [...stored.keys()].map(info),
    jobIds: res.jobIds,
    cancelled: res.cancelled,
  };
}
