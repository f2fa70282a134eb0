// better-sqlite3 is a native addon: `npm install` compiles it for Node, whose ABI differs from the
// Electron runtime's, so the desktop app's embedded controller could not open its database with
// it. This builds a second copy of the addon for Electron beside the first (Node keeps its own
// for `box`, `serve` and the tests) and the main process loads it through better-sqlite3's
// `nativeBinding` option, named by BUILDBOX_SQLITE_BINDING. Built once per Electron version:
// a prebuilt binary when one can be downloaded, else node-gyp against Electron's headers.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Where the Electron build of the addon lives; main.ts computes the same path. */
export function electronBindingPath(root, electronVersion, arch = process.arch) {
  return join(root, 'node_modules', '.buildbox-electron', `better_sqlite3-electron-${electronVersion}-${arch}.node`);
}

export function electronVersion(root) {
  return JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
}

function nodeGyp() {
  // npm ships node-gyp; find it next to the running npm or node.
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  return candidates.find((p) => existsSync(p)) ?? null;
}

/**
 * Makes sure the Electron build of better-sqlite3 exists; returns `{ path }` or `{ error }`.
 * `electron` is the runtime binary, used to check that the result really loads.
 */
export function ensureElectronSqlite(root, electron, log = () => {}) {
  const version = electronVersion(root);
  const target = electronBindingPath(root, version);
  if (existsSync(target)) return { path: target };
  const require = createRequire(join(root, 'package.json'));
  const pkgDir = dirname(require.resolve('better-sqlite3/package.json'));
  const work = mkdtempSync(join(tmpdir(), 'buildbox-electron-sqlite-'));
  const src = join(work, 'better-sqlite3');
  try {
    cpSync(pkgDir, src, { recursive: true, filter: (p) => !p.startsWith(join(pkgDir, 'build')) });
    log(`building better-sqlite3 for Electron ${version} (once)…`);
    const common = { cwd: src, stdio: 'pipe', timeout: 900_000, env: { ...process.env } };
    const prebuilt = join(root, 'node_modules', '.bin', 'prebuild-install');
    let ok = existsSync(prebuilt) && spawnSync(prebuilt, ['--runtime', 'electron', '--target', version, '--arch', process.arch], common).status === 0;
    if (!ok) {
      const gyp = nodeGyp();
      if (!gyp) return { error: 'node-gyp not found (it comes with npm)' };
      const r = spawnSync(
        process.execPath,
        [gyp, 'rebuild', '--release', '--runtime=electron', `--target=${version}`, `--arch=${process.arch}`, '--dist-url=https://electronjs.org/headers'],
        common,
      );
      ok = r.status === 0;
      if (!ok) return { error: `node-gyp could not build it: ${String(r.stderr ?? r.error ?? '').trim().split('\n').slice(-3).join(' ')}` };
    }
    const built = join(src, 'build', 'Release', 'better_sqlite3.node');
    if (!existsSync(built)) return { error: `no ${built} after the build` };
    // Loads in Electron's own Node? Checked before it is kept, so a bad build is never used.
    const check = spawnSync(
      electron,
      ['-e', `const D=require(${JSON.stringify(src)});new D(':memory:',{nativeBinding:${JSON.stringify(built)}}).prepare('select 1').get()`],
      { stdio: 'pipe', timeout: 60_000, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } },
    );
    if (check.status !== 0) return { error: `the build does not load in Electron: ${String(check.stderr ?? '').trim().split('\n')[0]}` };
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(built, `${target}.tmp`);
    cpSync(`${target}.tmp`, target);
    rmSync(`${target}.tmp`, { force: true });
    return { path: target };
  } catch (e) {
    return { error: e.message };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
