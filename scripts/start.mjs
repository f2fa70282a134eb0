// `npm start`: launch the desktop app; where the Electron runtime is missing, say so in one line
// and run `buildbox box` (controller + local worker + web UI) instead, printing the UI URL.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ensureElectronSqlite } from './electron-native.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

function electronBinary() {
  try {
    // The `electron` package exports the path of its downloaded runtime; the download may have failed.
    const p = require('electron');
    return typeof p === 'string' && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function run(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

// package.json denies electron's install script (it downloads the runtime and fails the whole
// install where GitHub is unreachable); fetch the runtime here instead, once, where it can be.
function tryDownloadElectron() {
  const installer = `${root}node_modules/electron/install.js`;
  if (!existsSync(installer)) return;
  spawnSync(process.execPath, [installer], { cwd: `${root}node_modules/electron`, stdio: 'ignore', timeout: 120_000 });
}

let electron = electronBinary();
if (!electron) {
  tryDownloadElectron();
  electron = electronBinary();
}
let why = null;
if (!electron) why = 'the Electron runtime is not installed';
else if (!existsSync(`${root}out/main/index.js`)) why = 'the desktop app is not built (run `npx electron-vite build`)';
else {
  // The embedded controller's SQLite addon must match Electron's ABI, not Node's.
  const sqlite = ensureElectronSqlite(root, electron, (line) => process.stdout.write(`buildbox: ${line}\n`));
  if (sqlite.path) process.env.BUILDBOX_SQLITE_BINDING = sqlite.path;
  else why = `better-sqlite3 could not be built for Electron (${sqlite.error})`;
}
if (!why) {
  run(electron, [root, ...process.argv.slice(2)]);
} else {
  process.stdout.write(`buildbox: ${why}; running \`buildbox box\` instead (open the URL below in a browser)\n`);
  run(process.execPath, [`${root}dist/cli.js`, 'box', ...process.argv.slice(2)]);
}
