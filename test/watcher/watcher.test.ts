// `buildbox watcher` as a process against a real reprepro base with conf/incoming rules: a
// generated package's upload dropped into an incoming directory is published by processincoming;
// dry-run only logs; several rules; uploads with wrong checksums are refused and logged.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSourceTree } from '../fixtures/make-package';
import { uniqueName } from '../helpers/db';
import { HOST_ARCH, tempDirs } from '../worker/helpers';
import { runCli, stopAll } from '../worker-e2e/harness';

const dirs = tempDirs();
let root: string;

interface Built {
  name: string;
  dir: string;
  changes: string;
  files: string[];
}

/** A binary upload of a generated package (.changes + .deb + .buildinfo) in its own directory. */
function buildUpload(name: string, distribution: string): Built {
  const dir = join(root, `build-${name}`);
  mkdirSync(dir, { recursive: true });
  const t = writeSourceTree(dir, { name, distribution });
  execFileSync('dpkg-buildpackage', ['-b', '-uc', '-us'], { cwd: t.tree, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  const changes = `${name}_${t.version}_${HOST_ARCH}.changes`;
  const files = readdirSync(dir).filter((f) => f.startsWith(`${name}_`) && f !== changes);
  return { name, dir, changes, files };
}

/** A reprepro base with one codename and an incoming rule that files `allow` uploads into it. */
function makeBase(name: string, codename: string, incoming: string, allow: string): string {
  const base = join(root, name);
  mkdirSync(join(base, 'conf'), { recursive: true });
  mkdirSync(join(base, 'tmp'), { recursive: true });
  writeFileSync(join(base, 'conf', 'distributions'), `Codename: ${codename}\nArchitectures: ${HOST_ARCH} source\nComponents: main\n`);
  writeFileSync(join(base, 'conf', 'incoming'), `Name: ${codename}\nIncomingDir: ${incoming}\nTempDir: ${join(base, 'tmp')}\nAllow: ${allow}>${codename}\n`);
  return base;
}

function repoList(base: string, codename: string): string {
  return execFileSync('reprepro', ['-b', base, 'list', codename]).toString();
}

/** Drops an upload the way dput does: the files it names first, the .changes last. */
function drop(b: Built, incoming: string, mangle?: (changes: string) => string): void {
  for (const f of b.files) copyFileSync(join(b.dir, f), join(incoming, f));
  const text = readFileSync(join(b.dir, b.changes), 'utf8');
  writeFileSync(join(incoming, b.changes), mangle ? mangle(text) : text);
}

let okPkg: Built;
let otherPkg: Built;
let badPkg: Built;

beforeAll(() => {
  root = dirs.make('bb-watcher-');
  okPkg = buildUpload(uniqueName('bbw-ok').toLowerCase().replace(/_/g, '-'), 'bbw-upload');
  otherPkg = buildUpload(uniqueName('bbw-two').toLowerCase().replace(/_/g, '-'), 'bbw-upload');
  badPkg = buildUpload(uniqueName('bbw-bad').toLowerCase().replace(/_/g, '-'), 'bbw-upload');
}, 120_000);

afterAll(async () => {
  await stopAll();
  dirs.cleanup();
});

describe('buildbox watcher', () => {
  it('two rules: a .changes in each incoming directory is published by its own processincoming rule; other files are ignored', async () => {
    const inA = join(root, 'incoming-a');
    const inB = join(root, 'incoming-b');
    mkdirSync(inA);
    mkdirSync(inB);
    const baseA = makeBase('repo-a', 'suitea', inA, 'bbw-upload');
    const baseB = makeBase('repo-b', 'suiteb', inB, 'bbw-upload');
    const w = runCli(['watcher', '--rule', `${inA}=${baseA}:suitea`, '--rule', `${inB}=${baseB}:suiteb`, '--sleeptime', '0.5']);
    await w.waitFor(/watcher ready: 2 rule/);

    writeFileSync(join(inA, 'notes.txt'), 'not an upload\n');
    drop(okPkg, inA);
    await w.waitFor(/processincoming suitea (done|failed)/);
    expect(w.lines.join('\n')).toContain(`RUN: reprepro -b ${baseA} processincoming suitea`);
    expect(repoList(baseA, 'suitea')).toMatch(new RegExp(`suitea\\|main\\|${HOST_ARCH}: ${okPkg.name} 1\\.0`));
    // processincoming moved the upload out of the incoming directory.
    expect(existsSync(join(inA, okPkg.changes))).toBe(false);

    drop(otherPkg, inB);
    await w.waitFor(/processincoming suiteb (done|failed)/);
    expect(repoList(baseB, 'suiteb')).toContain(`${otherPkg.name} 1.0`);
    expect(repoList(baseB, 'suiteb')).not.toContain(okPkg.name);
    // The .txt file set off nothing: exactly one run per rule.
    expect(w.lines.filter((l) => l.includes('RUN: reprepro')).length).toBe(2);
    await w.stop();
  });

  it('a .changes whose checksums do not match its files is refused by reprepro, logged, and nothing is published', async () => {
    const inc = join(root, 'incoming-bad');
    mkdirSync(inc);
    const base = makeBase('repo-bad', 'suitebad', inc, 'bbw-upload');
    const w = runCli(['watcher', '--rule', `${inc}=${base}:suitebad`, '--sleeptime', '0.2']);
    await w.waitFor(/watcher ready/);
    // Flip the .deb's SHA-256 in the .changes.
    drop(badPkg, inc, (t) => t.replace(/^ ([0-9a-f]{64}) (\d+ \S+\.deb)$/m, (_m, sha: string, rest: string) => ` ${sha.replace(/^./, (c) => (c === '0' ? '1' : '0'))} ${rest}`));
    const line = await w.waitFor(/processincoming suitebad (done|failed)/);
    expect(line).toMatch(/failed \(exit [1-9]/);
    expect(repoList(base, 'suitebad')).not.toContain(badPkg.name);
    expect(existsSync(join(base, 'pool'))).toBe(false);
    await w.stop();
  });

  it('--dry-run with a config file logs the command and leaves the upload alone', async () => {
    const inc = join(root, 'incoming-dry');
    mkdirSync(inc);
    const base = makeBase('repo-dry', 'suitedry', inc, 'bbw-upload');
    const conf = join(root, 'watcher-dry.json');
    writeFileSync(conf, JSON.stringify({ configured: true, sleeptime: 0.2, rules: { [inc]: { repobase: base, rule: 'suitedry' } } }));
    const w = runCli(['watcher', '--config', conf, '--dry-run']);
    await w.waitFor(/watcher ready/);
    drop(okPkg, inc);
    const line = await w.waitFor(/DRY-RUN: /);
    expect(line).toContain(`DRY-RUN: reprepro -b ${base} processincoming suitedry`);
    // Nothing ran: the upload is still there and the repository holds nothing.
    await new Promise((r) => setTimeout(r, 300));
    expect(w.lines.some((l) => l.includes('RUN: reprepro') && !l.includes('DRY-RUN'))).toBe(false);
    expect(existsSync(join(inc, okPkg.changes))).toBe(true);
    expect(existsSync(join(base, 'pool'))).toBe(false);
    await w.stop();
  });

  it('refuses a configuration that is not configured, has no rules or names a missing directory', async () => {
    const conf = join(root, 'watcher-unconfigured.json');
    writeFileSync(conf, JSON.stringify({ configured: false, rules: {} }));
    const a = runCli(['watcher', '--config', conf]);
    expect((await a.exited).code).not.toBe(0);
    expect(a.lines.join('\n')).toContain("'configured' is false");

    const b = runCli(['watcher']);
    expect((await b.exited).code).not.toBe(0);
    expect(b.lines.join('\n')).toContain('no rules');

    const c = runCli(['watcher', '--rule', `${join(root, 'nowhere')}=${root}:x`]);
    expect((await c.exited).code).not.toBe(0);
    expect(c.lines.join('\n')).toContain('does not exist');

    const bad = join(root, 'watcher-bad.json');
    writeFileSync(bad, JSON.stringify({ rules: { [root]: { rule: 'x' } } }));
    const d = runCli(['watcher', '--config', bad]);
    expect((await d.exited).code).not.toBe(0);
    expect(d.lines.join('\n')).toContain('repobase is required');
  });
});
