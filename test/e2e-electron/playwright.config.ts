// The desktop app under Playwright's Electron driver. Needs the Electron runtime
// (node_modules/electron/dist); without it every test is skipped with the reason printed.
// Run: npx playwright test -c test/e2e-electron/playwright.config.ts
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  outputDir: '../../test-results/e2e-electron',
  timeout: 120_000,
  expect: { timeout: 20_000 },
  workers: 1,
  reporter: [['list']],
});
