// Collecting a finished build from a builder: every filemap entry from /filecache/<sha1> and the
// build log from /filecache/buildlog go into the librarian and become the job's artifacts. A
// file whose SHA-1 does not match what the builder announced fails the scan (and is retried).
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Ctx } from '../context';
import { nowText } from '../db/time';
import { checkFileName } from '../store/file-store';
import { loadJob } from '../domain/models';
import { BuildDaemonError } from './judge-failure';
import { librarianFor, type LibraryFile } from './librarian';
import type { BuilderRow } from './registry';

/** Launchpad's state names in build log file names. */
const LOG_STATE: Record<string, string> = {
  OK: 'FULLYBUILT',
  PACKAGEFAIL: 'FAILEDTOBUILD',
  DEPFAIL: 'MANUALDEPWAIT',
  CHROOTFAIL: 'CHROOTWAIT',
  ABORTED: 'CANCELLED',
};

async function fetchInto(ctx: Ctx, url: string, name: string, timeoutMs: number): Promise<LibraryFile> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new BuildDaemonError(`cannot fetch ${url}: ${(e as Error).message}`);
  }
  if (res.status !== 200 || !res.body) throw new BuildDaemonError(`fetching ${url}: HTTP ${res.status}`);
  return librarianFor(ctx).put(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), name);
}

async function recordArtifact(ctx: Ctx, jobId: number, name: string, f: LibraryFile): Promise<void> {
  await ctx.db.kysely
    .insertInto('artifacts')
    .values({ job_id: jobId, name, sha1: f.sha1, sha256: f.sha256, size: f.size, created_at: nowText() })
    .onConflict((oc) => oc.columns(['job_id', 'name']).doUpdateSet({ sha1: f.sha1, sha256: f.sha256, size: f.size }))
    .execute();
}

export interface Collected {
  files: string[];
  log: string | null;
}

/** Copies the results of a WAITING build into the librarian. */
export async function collectBuild(
  ctx: Ctx,
  b: BuilderRow,
  jobId: number,
  buildStatus: string,
  filemap: Record<string, string> | undefined,
  timeoutMs: number,
): Promise<Collected> {
  const base = b.url.replace(/\/+$/, '');
  const out: Collected = { files: [], log: null };
  for (const [name, sha1] of Object.entries(filemap ?? {})) {
    // A builder must not be able to name files outside the job's own set (Launchpad refuses too).
    try {
      checkFileName(name, 'filemap entry');
    } catch (e) {
      throw new BuildDaemonError(`Build returned a file named '${name.slice(0, 80)}': ${(e as Error).message}`);
    }
    if (!/^[0-9a-f]{40}$/.test(sha1)) throw new BuildDaemonError(`Build returned '${name}' under a cache name that is not a SHA-1: '${String(sha1).slice(0, 60)}'`);
    const f = await fetchInto(ctx, `${base}/filecache/${sha1}`, name, timeoutMs);
    if (f.sha1 !== sha1) throw new BuildDaemonError(`${name} from ${b.name} has SHA-1 ${f.sha1}, the builder announced ${sha1}`);
    await recordArtifact(ctx, jobId, name, f);
    out.files.push(name);
  }
  const row = await loadJob(ctx.db.kysely, jobId);
  const state = LOG_STATE[buildStatus] ?? buildStatus;
  const logName = (
    row ? `buildlog_${row.d_name}-${row.s_name}-${row.a_name}.${row.p_name}_${row.p_version.replace(/^\d+:/, '')}_${state}.txt` : `buildlog_${jobId}_${state}.txt`
  ).replace(/[/\\\u0000-\u001f]|\.\./g, '_');
  try {
    const log = await fetchInto(ctx, `${base}/filecache/buildlog`, logName, timeoutMs);
    await recordArtifact(ctx, jobId, logName, log);
    out.log = logName;
  } catch (e) {
    // The outcome matters more than the log: keep going without it.
    ctx.log.warn(`${b.name}: no build log for job ${jobId}: ${(e as Error).message}`);
  }
  return out;
}
