// The `binarypackage` manager: launchpad-buildd's sbuild build type, mapped onto our BuildBackend.
// Inputs: the chroot tarball (cache file named by chrootsum; Launchpad's hold a top-level
// `chroot-autobuild/`, which the sbuild backend must accept), the source files from the filemap,
// and args (§4.2). Output: the .changes and the files it lists, copied into the cache by SHA-1.
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BuildOutcome, BuildSpec } from '../backends/backend';
import { chrootForSbuild, LP_CHROOT_DIR } from './chroot-tarball';
import { BuilderRefusal } from './errors';
import { checkCacheName, outputName } from './file-cache';
import { failedResult, type BuildManagerType, type BuildRequest, type ManagerContext, type ManagerJob, type ManagerResult } from './manager';
import type { XmlRpcStruct, XmlRpcValue } from './xmlrpc';

// ---- argument checks: each names the offending key, because the fault string is all a client sees

function requiredString(args: XmlRpcStruct, key: string): string {
  const v = args[key];
  if (typeof v !== 'string' || v.trim() === '') throw new BuilderRefusal(`binarypackage: args.${key} is required (a non-empty string)`);
  return v;
}

function optional<T>(args: XmlRpcStruct, key: string, check: (v: XmlRpcValue) => v is T & XmlRpcValue, what: string): T | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw new BuilderRefusal(`binarypackage: args.${key} must be ${what}`);
  return v;
}

const isBool = (v: XmlRpcValue): v is boolean => typeof v === 'boolean';
const isString = (v: XmlRpcValue): v is string => typeof v === 'string';
const isStringList = (v: XmlRpcValue): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

const SUITE_RE = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;
const ARCH_RE = /^[a-z0-9][a-z0-9-]*$/;
const BASE64_RE = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

interface BinaryPackageArgs {
  suite: string;
  arch: string;
  archIndep: boolean;
  debugSymbols: boolean;
  archives?: string[];
  trustedKeys?: string[];
  private: boolean;
  buildUrl?: string;
}

function checkArgs(args: XmlRpcStruct, ctx: ManagerContext): BinaryPackageArgs {
  // launchpad-buildd requires these three for every binarypackage build (KeyError otherwise).
  requiredString(args, 'series');
  const suite = requiredString(args, 'suite');
  requiredString(args, 'ogrecomponent');
  if (!SUITE_RE.test(suite)) throw new BuilderRefusal(`binarypackage: bad suite ${JSON.stringify(suite)}`);
  const arch = optional(args, 'arch_tag', isString, 'a string') ?? ctx.archTag;
  if (!ARCH_RE.test(arch)) throw new BuilderRefusal(`binarypackage: bad arch_tag ${JSON.stringify(arch)}`);
  const imageType = optional(args, 'image_type', isString, 'a string') ?? 'chroot';
  if (imageType !== 'chroot') throw new BuilderRefusal(`binarypackage: image_type ${JSON.stringify(imageType)} is not supported (only chroot tarballs)`);
  const archives = optional(args, 'archives', isStringList, 'a list of strings');
  if (archives?.some((l) => /[\r\n]/.test(l))) throw new BuilderRefusal('binarypackage: an args.archives line holds a line break');
  const trustedKeys = optional(args, 'trusted_keys', isStringList, 'a list of base64 strings');
  if (trustedKeys?.some((k) => !BASE64_RE.test(k))) throw new BuilderRefusal('binarypackage: args.trusted_keys must be base64-encoded keys');
  return {
    suite,
    arch,
    archIndep: optional(args, 'arch_indep', isBool, 'a boolean') ?? false,
    debugSymbols: optional(args, 'build_debug_symbols', isBool, 'a boolean') ?? false,
    archives,
    trustedKeys,
    private: optional(args, 'archive_private', isBool, 'a boolean') ?? false,
    buildUrl: optional(args, 'build_url', isString, 'a string'),
  };
}

function findDsc(filemap: Record<string, string>): string {
  const names = Object.keys(filemap);
  for (const n of names) checkCacheName(n);
  const dscs = names.filter((n) => n.endsWith('.dsc'));
  if (dscs.length !== 1) throw new BuilderRefusal(`binarypackage: the filemap must name exactly one .dsc (found ${dscs.length})`);
  return dscs[0]!;
}

// ---- result gathering

/** File names from the Files: section of a .changes (the last field of each continuation line). */
export function changesFileNames(text: string): string[] {
  const names: string[] = [];
  let inFiles = false;
  for (const line of text.split('\n')) {
    if (/^Files:/i.test(line)) {
      inFiles = true;
      continue;
    }
    if (inFiles && /^[ \t]/.test(line)) {
      const parts = line.trim().split(/\s+/);
      if (parts.length >= 5) names.push(parts[parts.length - 1]!);
    } else if (inFiles) inFiles = false;
  }
  return names;
}

async function gather(outcome: BuildOutcome, changesPath: string, ctx: ManagerContext, log: (s: string) => void): Promise<ManagerResult> {
  const changes = outcome.changesFile ?? changesPath;
  let text: string;
  try {
    text = await readFile(changes, 'utf8');
  } catch {
    log(`${basename(changes)} not found: the build produced no .changes\n`);
    return failedResult('PACKAGEFAIL');
  }
  // The .changes and what it lists, plus anything else the backend reports (e.g. the .buildinfo).
  const paths = new Map<string, string>();
  paths.set(outputName(changes), changes);
  for (const n of changesFileNames(text)) paths.set(outputName(n), join(dirname(changes), n));
  for (const f of outcome.files) if (!paths.has(basename(f))) paths.set(outputName(f), f);
  const filemap: Record<string, string> = {};
  const created: string[] = [];
  try {
    for (const [name, path] of paths) {
      const { sha1, created: isNew } = await ctx.cache.storeFile(path);
      filemap[name] = sha1;
      if (isNew) created.push(sha1);
    }
  } catch (e) {
    log(`Failed to gather results: ${(e as Error).message}\n`);
    for (const sha1 of created) await ctx.cache.remove(sha1).catch(() => {});
    return failedResult('PACKAGEFAIL');
  }
  return { category: 'OK', filemap, dependencies: '', createdEntries: created };
}

// ---- the manager

class BinaryPackageJob implements ManagerJob {
  private root: string | null = null;
  readonly sanitiseLogs: boolean;
  readonly buildUrl?: string;

  constructor(
    private readonly req: BuildRequest,
    private readonly ctx: ManagerContext,
    private readonly dscName: string,
    private readonly args: BinaryPackageArgs,
  ) {
    this.sanitiseLogs = args.private;
    this.buildUrl = args.buildUrl;
  }

  async run(log: BuildSpec['log'], signal: AbortSignal): Promise<ManagerResult> {
    const write = (s: string) => log.write(s);
    // Sources are symlinked from the cache (as launchpad-buildd does); results go to work/.
    await mkdir(this.ctx.workRoot, { recursive: true });
    this.root = await mkdtemp(join(this.ctx.workRoot, 'lp-build-'));
    const srcDir = join(this.root, 'source');
    const workdir = join(this.root, 'work');
    await mkdir(srcDir);
    await mkdir(workdir);
    for (const [name, sum] of Object.entries(this.req.filemap)) await symlink(this.ctx.cache.path(sum), join(srcDir, name));
    const chrootTarball = await this.chrootTarball(write);
    if (chrootTarball === null) return failedResult('CHROOTFAIL');
    const spec: BuildSpec = {
      workdir,
      dsc: join(srcDir, this.dscName),
      arch: this.args.arch,
      suite: this.args.suite,
      buildEnv: null,
      archIndep: this.args.archIndep,
      chrootTarball,
      archives: this.args.archives,
      trustedKeys: this.args.trustedKeys,
      debugSymbols: this.args.debugSymbols,
      log,
      signal,
    };
    const outcome = await this.ctx.backend.build(spec);
    if (outcome.message) write(`${outcome.message}\n`);
    switch (outcome.category) {
      case 'OK': {
        const expected = join(workdir, `${this.dscName.slice(0, -'.dsc'.length)}_${this.args.arch}.changes`);
        return gather(outcome, expected, this.ctx, write);
      }
      case 'DEPFAIL': {
        const deps = outcome.missingDependencies?.trim() ?? '';
        // Without a relation a dep-wait cannot be retried usefully; the original falls back too.
        return deps ? failedResult('DEPFAIL', deps) : failedResult('PACKAGEFAIL');
      }
      default:
        return failedResult(outcome.category);
    }
  }

  /**
   * The chroot as the backend needs it. Only sbuild (unshare mode) unpacks it, and it wants the
   * root at the top: Launchpad's `chroot-autobuild/` layout is re-rooted once per chroot (the
   * UNPACK step of launchpad-buildd; a failure there is CHROOTFAIL, as the original).
   */
  private async chrootTarball(write: (s: string) => void): Promise<string | null> {
    const cached = this.ctx.cache.path(this.req.chrootsum);
    if (this.ctx.backend.name !== 'sbuild') return cached;
    try {
      const r = await chrootForSbuild(this.ctx.cache.dir, this.req.chrootsum, this.ctx.chrootDir);
      if (r.converted) write(`Using chroot ${this.req.chrootsum} re-rooted from ${LP_CHROOT_DIR}/ (${r.path})\n`);
      return r.path;
    } catch (e) {
      write(`Cannot unpack chroot ${this.req.chrootsum}: ${(e as Error).message}\n`);
      return null;
    }
  }

  async teardown(): Promise<void> {
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}

export const binaryPackageManager: BuildManagerType = {
  tag: 'binarypackage',
  prepare(req, ctx) {
    const dscName = findDsc(req.filemap);
    const args = checkArgs(req.args, ctx);
    return new BinaryPackageJob(req, ctx, dscName, args);
  },
};
