// `electron-vite build`: the main process (with the local worker's utility-process entry), the
// sandboxed preload script, and the renderer (the same Vite setup as the web UI).
import { defineConfig } from 'electron-vite';
import { fileURLToPath } from 'node:url';
import { rendererConfig } from './src-renderer/vite.config';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const alias = { '@shared': r('./src-shared') };

export default defineConfig({
  main: {
    resolve: { alias },
    build: {
      // Dependencies (fastify, better-sqlite3, kysely, …) load from node_modules at run time;
      // better-sqlite3 is native and cannot be bundled anyway.
      externalizeDeps: true,
      sourcemap: true,
      rollupOptions: {
        input: {
          index: r('./src-main/app/main.ts'),
          'worker-entry': r('./src-main/app/worker-entry.ts'),
        },
      },
    },
  },
  preload: {
    resolve: { alias },
    build: {
      // A sandboxed preload cannot require anything but a few Electron modules: bundle it
      // whole, as one CommonJS file.
      externalizeDeps: false,
      sourcemap: true,
      rollupOptions: {
        input: { preload: r('./src-main/app/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    ...rendererConfig,
    plugins: [
      ...(rendererConfig.plugins ?? []),
      {
        // electron-vite makes production renderer URLs relative ('./assets/…'). The window opens
        // deep routes (app://buildbox/ui/jobs/5 from a notification), where those resolve under
        // the route and load nothing; and the controller serves the same out/renderer at `/` to
        // browsers, with the same deep links. Absolute URLs work for both. (This hook runs after
        // electron-vite's preset, which is enforce: 'pre'.)
        name: 'buildbox:absolute-asset-urls',
        config: () => ({ base: '/' }),
      },
    ],
    build: {
      ...rendererConfig.build,
      rollupOptions: { input: { index: r('./src-renderer/index.html') } },
    },
  },
});
