// With a real local worker (`buildbox box`, dpkg backend): submit from a git URL in the UI, watch
// the log grow live and the job reach Done, download an artifact and check its checksum; and
// cancel a running build from the job page.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceServer } from '../worker-e2e/sources';
import { ok, openLoggedIn, rest, seedTargets, shot, startServer, submit, unique, type Server } from './helpers';

const HOST_ARCH = execFileSync('dpkg', ['--print-architecture']).toString().trim();

let s: Server;
let src: SourceServer;
let srcDir: string;
let suite: string;

test.beforeEach(async () => {
  suite = unique('s');
  srcDir = mkdtempSync(join(tmpdir(), 'buildbox-e2e-src-'));
  src = await SourceServer.start(srcDir);
  // Short leases: the worker hears about a cancel at its next heartbeat.
  s = await startServer('box', ['--no-amqp', '--backend', 'dpkg', '--suite', suite, '--lease-seconds', '6']);
  await seedTargets(s, suite, [HOST_ARCH]);
});

test.afterEach(async () => {
  await s?.stop();
  await src?.server.close();
  rmSync(srcDir, { recursive: true, force: true });
});

test('submit from a git URL, follow the live log to Done, download an artifact', async ({ page }) => {
  const g = src.git({ name: unique('bbui'), slowSeconds: 3 });
  await openLoggedIn(page, s, '/ui/submit');
  const form = page.getByRole('form', { name: 'submit from a URL' });
  await form.getByLabel('URL').fill(g.uri);
  await form.getByLabel('Revision (branch, tag or commit)').fill(g.commit);
  await form.getByLabel('Package').fill(g.name);
  await form.getByLabel('Version').fill(g.version);
  await form.getByLabel('Suite').selectOption(suite);
  await form.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByTestId('submit-result')).toContainText('Created 1 job');
  await page.getByTestId('submit-result').getByRole('link').click();

  const heading = page.getByRole('heading', { level: 1 });
  const log = page.getByTestId('log-body');
  // The build prints its marker, then sleeps: the line shows while the job is still Building.
  await expect(log).toContainText(`buildbox-test: building ${g.marker}`, { timeout: 60_000 });
  await expect(heading).toContainText('Building');
  await page.screenshot(shot('job-building'));
  await expect(heading).toContainText('Done', { timeout: 60_000 });
  await expect(page.getByTestId('job-history')).toContainText('Building');
  await expect(page.getByTestId('job-result')).toContainText('OK');

  // Search the log.
  await page.getByRole('searchbox', { name: 'search the log' }).fill(g.marker);
  await expect(page.getByTestId('log-matches')).not.toHaveText('0/0');

  const artifacts = page.getByTestId('artifacts');
  const debRow = artifacts.getByRole('row').filter({ has: page.getByRole('link', { name: /\.deb$/ }) }).first();
  const deb = debRow.getByRole('link');
  await expect(deb).toBeVisible();
  await page.screenshot(shot('job-done'));
  const expected = (await debRow.locator('code.hash').textContent())!.trim();
  expect(expected).toMatch(/^[0-9a-f]{64}$/);
  const [download] = await Promise.all([page.waitForEvent('download'), deb.click()]);
  const file = await download.path();
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  expect(sha256).toBe(expected);
  expect(readFileSync(file).subarray(0, 7).toString()).toBe('!<arch>');
});

test('cancel a running build from the job page', async ({ page }) => {
  const g = src.git({ name: unique('bbsleep'), variant: 'sleep' });
  const [id] = await submit(s, { package: g.name, version: g.version, suite, uri: g.uri, vcs_id: g.commit });
  await openLoggedIn(page, s, `/ui/jobs/${id}`);
  const heading = page.getByRole('heading', { level: 1 });
  await expect(heading).toContainText('Building', { timeout: 60_000 });
  await expect(page.getByTestId('log-body')).toContainText(`sleeping ${g.marker}`, { timeout: 30_000 });
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await expect(heading).toContainText('Cancelled', { timeout: 60_000 });
  await expect(page.getByTestId('job-history')).toContainText('Cancelled');
  const job = (await ok(rest(s, 'GET', `/api/v1/jobs/${id}`, { auth: false }), 'job')).json<{ status: string }>();
  expect(job.status).toBe('Cancelled');
  // The build's process tree is gone.
  await expect.poll(() => execFileSync('ps', ['-eo', 'args']).toString().includes(`sleep ${g.marker}`), { timeout: 30_000 }).toBe(false);
  await page.screenshot(shot('job-cancelled'));
});
