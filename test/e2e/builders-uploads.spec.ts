// Launchpad-style builders on the Workers screen (registered through the API, toggled in the UI,
// the change seen through the API), and a source package uploaded through the Submit screen's
// .dsc form creating jobs whose source is the uploaded .dsc.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSourcePackage } from '../fixtures/make-package';
import { ok, openLoggedIn, rest, seedTargets, shot, startServer, unique, type Server } from './helpers';

const HOST_ARCH = execFileSync('dpkg', ['--print-architecture']).toString().trim();

let s: Server;
let tmp: string;

test.beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'buildbox-e2e-up-'));
  // No scans: the registered builder's URL points nowhere, and its state must stay as set here.
  s = await startServer('serve', ['--no-amqp', '--scan-interval', '0']);
});

test.afterEach(async () => {
  await s?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface BuilderJson {
  name: string;
  manual: boolean;
  enabled: boolean;
  failureNotes: string | null;
}

test('builders: registered through the API, toggled and annotated in the UI, seen through the API', async ({ page }) => {
  const name = unique('lpb');
  await ok(rest(s, 'POST', '/api/v1/builders', { json: { name, url: 'http://127.0.0.1:9/', arch: HOST_ARCH } }), 'register builder');
  const get = async () => (await ok(rest(s, 'GET', `/api/v1/builders/${name}`, { auth: false }), 'get builder')).json<BuilderJson>();
  expect(await get()).toMatchObject({ manual: false, enabled: true, failureNotes: null });

  await openLoggedIn(page, s, '/ui/workers');
  const row = page.getByTestId(`builder-${name}`);
  await expect(row).toContainText('http://127.0.0.1:9');
  await expect(row).toContainText(HOST_ARCH);

  await row.getByRole('checkbox', { name: `manual ${name}` }).check();
  await expect.poll(async () => (await get()).manual).toBe(true);
  await row.getByRole('checkbox', { name: `enabled ${name}` }).uncheck();
  await expect.poll(async () => (await get()).enabled).toBe(false);
  await expect(row).toContainText('disabled');
  await row.getByRole('textbox', { name: `failure notes ${name}` }).fill('fan broken');
  await row.getByRole('button', { name: 'Save' }).click();
  await expect.poll(async () => (await get()).failureNotes).toBe('fan broken');
  await page.screenshot(shot('workers-builders'));

  // A change made elsewhere shows after a reload; enabling again through the UI reaches the API.
  await ok(rest(s, 'PATCH', `/api/v1/builders/${name}`, { json: { manual: false } }), 'patch');
  await page.reload();
  await expect(row.getByRole('checkbox', { name: `manual ${name}` })).not.toBeChecked();
  await row.getByRole('checkbox', { name: `enabled ${name}` }).check();
  await expect.poll(async () => (await get()).enabled).toBe(true);

  // Registering a bad one in the UI names the field without a request.
  const form = page.getByRole('form', { name: 'register a builder' });
  await form.getByLabel('Builder name').fill(unique('lpc'));
  await form.getByLabel('Builder URL').fill('ftp://nowhere');
  await form.getByLabel('Builder arch').fill(HOST_ARCH);
  await form.getByRole('button', { name: 'Register builder' }).click();
  await expect(form.getByRole('alert')).toContainText('http(s) URL');

  // Registering and deleting through the UI.
  const other = unique('lpd');
  await form.getByLabel('Builder name').fill(other);
  await form.getByLabel('Builder URL').fill('http://127.0.0.1:9');
  await form.getByRole('button', { name: 'Register builder' }).click();
  await expect(page.getByTestId(`builder-${other}`)).toBeVisible();
  expect((await rest(s, 'GET', `/api/v1/builders/${other}`, { auth: false })).status).toBe(200);
  await page.getByTestId(`builder-${other}`).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Delete builder' }).click();
  await expect(page.getByTestId(`builder-${other}`)).toHaveCount(0);
  expect((await rest(s, 'GET', `/api/v1/builders/${other}`, { auth: false })).status).toBe(404);
});

test('upload a .dsc with its files through the Submit screen and see the jobs it created', async ({ page }) => {
  const suite = unique('up');
  await seedTargets(s, suite, [HOST_ARCH]);
  const pkgName = unique('bbup');
  const pkg = makeSourcePackage(tmp, { name: pkgName });
  const paths = pkg.files.map((f) => join(pkg.dir, f));

  await openLoggedIn(page, s, '/ui/submit');
  await page.getByRole('tab', { name: 'Upload .dsc/.changes' }).click();
  const form = page.getByRole('form', { name: 'upload a source package' });

  // Without a .dsc the form says so beside the file field.
  await form.getByLabel('.dsc or .changes and the files it lists').setInputFiles(paths.filter((p) => !p.endsWith('.dsc')));
  await form.getByLabel('Suite').selectOption(suite);
  await form.getByRole('button', { name: 'Upload and submit' }).click();
  await expect(form.getByRole('alert')).toContainText('include a .dsc');

  // Only the .dsc: the server names the missing file.
  await form.getByLabel('.dsc or .changes and the files it lists').setInputFiles(paths.filter((p) => p.endsWith('.dsc')));
  await form.getByRole('button', { name: 'Upload and submit' }).click();
  await expect(form.getByRole('alert')).toContainText('not uploaded');
  expect((await ok(rest(s, 'GET', `/api/v1/jobs?package=${pkgName}`, { auth: false }), 'jobs')).json<{ total: number }>().total).toBe(0);

  await form.getByLabel('.dsc or .changes and the files it lists').setInputFiles(paths);
  await form.getByRole('button', { name: 'Upload and submit' }).click();
  const result = page.getByTestId('upload-result');
  await expect(result).toContainText(`Uploaded ${pkgName} ${pkg.version}`);
  await expect(result).toContainText('created 1 job');
  await page.screenshot(shot('submit-upload-done'));

  const jobs = (await ok(rest(s, 'GET', `/api/v1/jobs?package=${pkgName}`, { auth: false }), 'jobs')).json<{
    total: number;
    items: Array<{ id: number; arch: string; suite: string; status: string }>;
  }>();
  expect(jobs.total).toBe(1);
  expect(jobs.items[0]).toMatchObject({ arch: HOST_ARCH, suite, status: 'Waiting' });
  await result.getByRole('link', { name: String(jobs.items[0]!.id) }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(`Job ${jobs.items[0]!.id}`);
  await expect(page.locator('main')).toContainText(pkgName);
});
