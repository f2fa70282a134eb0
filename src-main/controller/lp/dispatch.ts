// Starting a job on an idle, clean builder (Launchpad's findAndStartJob + startBuild): pick a
// Waiting job for the builder's architecture whose source is in the librarian and whose target
// has a chroot, claim it (the same atomic Waiting/Blocked → Building claim AMQP workers use),
// make the builder fetch the chroot and every source file, then call build().
import type { Ctx } from '../context';
import { claimJob, heartbeat, WorkerConflictError } from '../domain/claim';
import { assign, cookieFor } from './build-queue';
import { chrootFor } from './chroots';
import { BuildDaemonError } from './judge-failure';
import { librarianFor } from './librarian';
import type { BuilderRow } from './registry';
import type { BuilderClient } from './rpc-client';

/** How many candidate jobs one dispatch looks at (Launchpad: 10). */
const CANDIDATES = 10;

const DSC_URL = /\/files\/([0-9a-f]{40})\/[^/?#]+\.dsc$/;

/** The librarian SHA-1 of a job's .dsc, from its dsc transport URI. */
export function dscSha1FromUri(uri: string): string | null {
  return DSC_URL.exec(uri)?.[1] ?? null;
}

export interface Dispatched {
  jobId: number;
  cookie: string;
}

/**
 * Finds and starts one job. Returns null when nothing fits. A failure after the claim throws
 * with the job assigned to the builder, so the caller's failure accounting covers both.
 */
export async function findAndStartJob(ctx: Ctx, b: BuilderRow, client: BuilderClient): Promise<Dispatched | null> {
  const db = ctx.db.kysely;
  const rows = await db
    .selectFrom('job as j')
    .innerJoin('packageinstance as pi', 'pi.id', 'j.packageinstance_id')
    .innerJoin('arch as a', 'a.id', 'pi.arch_id')
    .innerJoin('suite as s', 's.id', 'pi.suite_id')
    .innerJoin('buildrequest as br', 'br.job', 'j.id')
    .leftJoin('buildenv as be', 'be.id', 'pi.buildenv_id')
    .select(['j.id', 'pi.suite_id', 'pi.arch_id', 'pi.master', 's.name as suite', 'be.name as env', 'br.uri'])
    .where('j.status', '=', 'Waiting')
    .where('a.name', '=', b.arch)
    .where('br.method', '=', 'dsc')
    .orderBy('j.id')
    .limit(CANDIDATES * 2)
    .execute();
  const seen = new Set<number>();
  let tried = 0;
  for (const r of rows) {
    if (seen.has(r.id) || tried >= CANDIDATES) continue;
    seen.add(r.id);
    tried++;
    const dscSha1 = dscSha1FromUri(r.uri);
    if (!dscSha1) continue;
    const files = await db.selectFrom('source_files').select(['name', 'sha1']).where('dsc_sha1', '=', dscSha1).execute();
    if (!files.length) continue;
    const chroot = await chrootFor(ctx, r.suite_id, r.arch_id, r.env);
    if (!chroot) {
      ctx.log.debug(`${b.name}: no chroot for ${r.suite}/${b.arch}${r.env ? ` (${r.env})` : ''}; job ${r.id} waits`);
      continue;
    }
    try {
      await claimJob(ctx, r.id, b.name);
    } catch (e) {
      if (e instanceof WorkerConflictError) continue; // someone else took it first
      throw e;
    }
    const cookie = cookieFor(r.id);
    await assign(ctx, r.id, b.id, cookie);
    // From here on the builder is dirty whatever happens: it may hold files or a build of ours.
    await db.updateTable('builders').set({ clean_status: 'DIRTY' }).where('id', '=', b.id).execute();
    ctx.log.info(`Dispatching job ${r.id} (${cookie}) to ${b.name}`);

    // ensurepresent may take long (a large chroot): keep the lease alive meanwhile.
    const keepalive = setInterval(() => void heartbeat(ctx, r.id, b.name).catch(() => {}), Math.max(1000, (ctx.config.leaseSeconds * 1000) / 3));
    try {
      return await startOn(ctx, b, client, r, chroot, files, cookie);
    } finally {
      clearInterval(keepalive);
    }
  }
  return null;
}

async function startOn(
  ctx: Ctx,
  b: BuilderRow,
  client: BuilderClient,
  r: { id: number; suite: string; master: number },
  chroot: { sha1: string; name: string },
  files: Array<{ name: string; sha1: string }>,
  cookie: string,
): Promise<Dispatched> {
  const db = ctx.db.kysely;
  const lib = librarianFor(ctx);
  const wanted = [{ name: chroot.name, sha1: chroot.sha1 }, ...files];
  const answers = await Promise.all(wanted.map((f) => client.ensurepresent(f.sha1, lib.url(f.sha1, f.name), '', '')));
  answers.forEach(([present, info], i) => {
    if (!present) throw new BuildDaemonError(`${b.name} (${b.url}) was unable to fetch file ${wanted[i]!.name}: ${info}`);
  });
  const filemap = Object.fromEntries(files.map((f) => [f.name, f.sha1]));
  const args = {
    series: r.suite,
    suite: r.suite,
    ogrecomponent: 'main',
    arch_tag: b.arch,
    archive_purpose: 'PRIMARY',
    arch_indep: Boolean(r.master),
    // Virtual builders are reset after the build anyway.
    fast_cleanup: Boolean(b.virtualised),
    build_url: `${ctx.config.baseUrl}/api/v1/jobs/${r.id}`,
  };
  const res = await client.build(cookie, 'binarypackage', chroot.sha1, filemap, args);
  if (!Array.isArray(res) || res[0] !== 'BuilderStatus.BUILDING') {
    throw new BuildDaemonError(`${b.name} refused build ${cookie}: ${JSON.stringify(res)}`);
  }
  // A successful dispatch clears the builder's failure count.
  await db.updateTable('builders').set({ failure_count: 0 }).where('id', '=', b.id).execute();
  return { jobId: r.id, cookie };
}
