// Bundles the CLI (controller, worker, tools) into dist/cli.js so that
// `npx buildbox …` works right after `npm install`. Dependencies stay external.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  entryPoints: [`${root}src-main/cli.ts`],
  outfile: `${root}dist/cli.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  alias: { '@shared': `${root}src-shared` },
  logLevel: 'warning',
});
