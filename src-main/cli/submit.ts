// `buildbox submit`: queue a build on a controller from a source tree (debian/changelog and
// debian/control say what to build; --git-url or --uri say where workers fetch it), from a .dsc
// or .changes (uploaded with every file it lists), or from a git URL and revision (read from a
// fresh fetch). `--wait` follows the jobs and streams their logs.
import { Command, Option } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readDebianSource, type DebianSourceInfo } from '@shared/debian-source';
import { parseControlFile } from '@shared/dsc';
import { UploadResponse, builderRoutes } from '@shared/builders-api';
import type { SubmitJobRequest } from '@shared/api';
import { readDebianAtRevision } from '../controller/vcs/git-read';
import { clientFor, waitForJobs, type Connection } from './follow';

export const DEFAULT_CONTROLLER = 'http://127.0.0.1:8080';

/** --controller and --token, shared by every client command. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--controller <url>', 'controller base URL').env('BUILDBOX_URL').default(DEFAULT_CONTROLLER))
    .addOption(new Option('--token <token>', 'API token').env('BUILDBOX_TOKEN'));
}

export function connection(o: { controller: string; token?: string }): Connection {
  if (!/^https?:\/\/[^\s]+$/.test(o.controller)) throw new Error(`--controller must be an http(s) URL, got '${o.controller}'`);
  return { baseUrl: o.controller.replace(/\/+$/, ''), token: o.token || undefined };
}

interface SubmitFlags {
  controller: string;
  token?: string;
  git?: string;
  ref?: string;
  gitUrl?: string;
  uri?: string;
  method?: string;
  vcsId?: string;
  suite?: string;
  dist?: string;
  format: string;
  arch?: string;
  wait?: boolean;
  timeout?: string;
}

function readTree(dir: string): DebianSourceInfo {
  const file = (name: string) => {
    const p = join(dir, 'debian', name);
    if (!existsSync(p)) throw new Error(`${p}: missing (is ${dir} an unpacked Debian source tree?)`);
    return readFileSync(p, 'utf8');
  };
  return readDebianSource(file('changelog'), file('control'), join(dir, 'debian'));
}

function gitHead(dir: string): string | undefined {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

/** --arch a,b or "a b" → pyBit's comma-separated architecture_list. */
function archList(s: string): string {
  const parts = s.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) throw new Error('--arch: give at least one architecture');
  return parts.join(',');
}

async function defaultDist(c: Connection): Promise<string> {
  const l = await clientFor(c).lookups();
  return l.distributions.length === 1 ? l.distributions[0]!.name : 'Debian';
}

/** Submits vcshook-style fields through /api/v1/jobs; returns the job ids. */
async function submitFields(c: Connection, o: SubmitFlags, src: DebianSourceInfo, transport: { method: string; uri: string; vcsId: string }): Promise<number[]> {
  const body: SubmitJobRequest = {
    package: src.source,
    version: src.version,
    arch_list: o.arch ? archList(o.arch) : src.archList || 'any',
    dist: o.dist ?? (await defaultDist(c)),
    suite: o.suite ?? src.distribution,
    format: o.format,
    method_type: transport.method,
    uri: transport.uri,
    vcs_id: transport.vcsId,
  };
  const res = await clientFor(c).submitJob(body);
  process.stdout.write(`queued ${body.package} ${body.version} for ${body.suite} (${body.arch_list}): job${res.jobIds.length === 1 ? '' : 's'} ${res.jobIds.join(', ')}\n`);
  if (res.superseded.length) process.stdout.write(`superseded: ${res.superseded.join(', ')}\n`);
  return res.jobIds;
}

/** Uploads a .dsc or .changes with every file it (and, for a .changes, its .dsc) lists. */
async function upload(c: Connection, o: SubmitFlags, file: string): Promise<number[]> {
  const dir = dirname(file);
  const names = new Set<string>([basename(file)]);
  const listed = parseControlFile(readFileSync(file, 'utf8'));
  for (const f of listed.files) names.add(f.name);
  if (file.endsWith('.changes')) {
    for (const dsc of listed.files.filter((f) => f.name.endsWith('.dsc'))) {
      for (const f of parseControlFile(readFileSync(join(dir, dsc.name), 'utf8')).files) names.add(f.name);
    }
  }
  const form = new FormData();
  for (const name of names) {
    const p = join(dir, name);
    if (!existsSync(p)) throw new Error(`${p}: listed in ${basename(file)} but missing`);
    form.append('file', new Blob([readFileSync(p)]), name);
  }
  if (o.suite) form.append('suite', o.suite);
  if (o.dist) form.append('distribution', o.dist);
  if (o.format !== 'deb') form.append('format', o.format);
  if (o.arch) form.append('architecture_list', archList(o.arch));
  const res = await fetch(c.baseUrl + builderRoutes.uploads, { method: 'POST', body: form, headers: c.token ? { Authorization: `Bearer ${c.token}` } : {} });
  const text = await res.text();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (!res.ok) throw new Error(`upload refused (HTTP ${res.status}): ${(data as { error?: string } | null)?.error ?? text.slice(0, 300)}`);
  const up = UploadResponse.parse(data);
  process.stdout.write(`uploaded ${up.package} ${up.version} (${up.files.length} files): job${up.jobIds.length === 1 ? '' : 's'} ${up.jobIds.join(', ')}\n`);
  return up.jobIds;
}

async function submitCommand(source: string | undefined, o: SubmitFlags): Promise<void> {
  const c = connection(o);
  let ids: number[];
  if (o.git) {
    if (source) throw new Error('give either a source (directory, .dsc, .changes) or --git, not both');
    const at = await readDebianAtRevision(o.git, o.ref ?? '');
    ids = await submitFields(c, o, at, { method: 'git', uri: o.git, vcsId: at.commit });
  } else {
    const path = resolve(source ?? '.');
    if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
    if (statSync(path).isDirectory()) {
      const src = readTree(path);
      let transport: { method: string; uri: string; vcsId: string };
      if (o.gitUrl && o.uri) throw new Error('give --git-url or --uri, not both');
      if (o.gitUrl) transport = { method: 'git', uri: o.gitUrl, vcsId: o.vcsId ?? gitHead(path) ?? '' };
      else if (o.uri) {
        const method = o.method ?? (existsSync(join(path, '.svn')) ? 'svn' : existsSync(join(path, '.git')) ? 'git' : undefined);
        if (!method) throw new Error('--method: required with --uri (svn, git, apt, dsc …) when the tree is no svn or git checkout');
        transport = { method, uri: o.uri, vcsId: o.vcsId ?? (method === 'git' ? gitHead(path) ?? '' : '') };
      } else {
        throw new Error('a source tree needs a transport workers can fetch: --git-url URL [--vcs-id REV], or --uri URI [--method M] (or upload a .dsc / .changes instead)');
      }
      ids = await submitFields(c, o, src, transport);
    } else if (/\.(dsc|changes)$/.test(path)) {
      ids = await upload(c, o, path);
    } else {
      throw new Error(`${path}: expected a source directory, a .dsc or a .changes`);
    }
  }
  if (!o.wait) return;
  const timeout = o.timeout === undefined ? 0 : Number(o.timeout);
  if (!Number.isFinite(timeout) || timeout < 0) throw new Error(`--timeout must be a number of seconds, got '${o.timeout}'`);
  const ok = await waitForJobs(c, ids, { stdout: process.stdout, stderr: process.stderr, timeoutSeconds: timeout });
  process.exitCode = ok ? 0 : 1;
}

export function registerSubmit(program: Command): void {
  addConnectionOptions(
    program
      .command('submit [source]')
      .description('queue a build: from a source tree (with --git-url or --uri), a .dsc or .changes (uploaded), or --git URL --ref REV')
      .option('--git <url>', 'build this git repository (reads debian/changelog at --ref)')
      .option('--ref <rev>', 'branch, tag or commit for --git (default: the remote HEAD)')
      .option('--git-url <url>', 'source tree: the git URL workers clone')
      .option('--uri <uri>', 'source tree: the URL workers fetch (with --method)')
      .option('--method <method>', 'transport for --uri: svn, git, … (default: from the checkout)')
      .option('--vcs-id <rev>', 'revision workers check out (default: the checkout HEAD for git)')
      .option('--suite <suite>', "target suite (default: the changelog's distribution)")
      .option('--dist <dist>', "distribution (default: the controller's only one, else Debian)")
      .option('--format <format>', 'package format', 'deb')
      .option('--arch <list>', "architectures, comma-separated (default: debian/control's)")
      .option('--wait', 'follow the build, stream its log, and exit non-zero if a job failed')
      .option('--timeout <seconds>', 'with --wait: give up after this long'),
  ).action(submitCommand);
}
