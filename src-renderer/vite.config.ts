// Vite build of the web UI. The controller serves out/renderer at `/`; the Electron build reuses
// this config (same root, aliases and plugins) for its renderer.
import { defineConfig, type UserConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const shared = fileURLToPath(new URL('../src-shared', import.meta.url));
const outDir = fileURLToPath(new URL('../out/renderer', import.meta.url));

/** The parts that every build of the renderer shares, for reuse by electron.vite.config.ts. */
export const rendererConfig: UserConfig = {
  root: here,
  base: '/',
  plugins: [react()],
  resolve: { alias: { '@shared': shared } },
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
};

export default defineConfig(rendererConfig);
