// Builds the web UI (src-renderer) with Vite into out/renderer, which the controller serves at
// `/`. Uses src-renderer/vite.config.ts, the same config the desktop build extends.
import { build } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  configFile: `${root}src-renderer/vite.config.ts`,
  logLevel: process.env.BUILDBOX_UI_BUILD_VERBOSE ? 'info' : 'warn',
});
