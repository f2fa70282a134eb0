// Every screen renders (with a screenshot of each under test-results/screens), pyBit's page
// paths open the matching screens without shadowing its REST routes, the package screens' own
// actions work, and a controller without a built UI says so at `/`.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ok, openLoggedIn, rest, seedTargets, shot, startServer, submit, unique, type Server } from './helpers';

const HOST_ARCH = execFileSync('dpkg', ['--print-architecture']).toString().trim();

let s: Server;
let suite: string;
test.beforeAll(async () => {
  suite = unique('s');
  // A box with its local worker (dry-run backend) so the Workers screen has one to show.
  s = await startServer('box', ['--no-amqp', '--backend', 'dry-run', '--suite', suite]);
  await seedTargets(s, suite, [HOST_ARCH]);
});
test.afterAll(async () => {
  await s?.stop();
});

test("pyBit's page paths open the matching screens; REST routes stay", async ({ page }) => {
  const cases: Array<[string, string]> = [
    ['/', 'Dashboard'],
    ['/index.htm', 'Dashboard'],
    ['/dashboard.htm', 'Dashboard'],
    ['/job.htm', 'Jobs'],
    ['/buildd.htm', 'Workers and builders'],
    ['/package.htm', 'Packages'],
    ['/packageinstance.htm', 'Package instances'],
    ['/arches.htm', 'Lookups'],
    ['/blacklist.htm', 'Lookups'],
  ];
  for (const [path, title] of cases) {
    await page.goto(`${s.url}${path}`);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(title);
  }
  await expect(page.getByRole('heading', { name: 'Blacklist rules', level: 2 })).toBeVisible();
  for (const path of ['/job', '/arch', '/api/v1/stats']) {
    const r = await rest(s, 'GET', path, { auth: false });
    expect(r.status).toBe(200);
    expect(() => r.json()).not.toThrow();
  }
  expect((await rest(s, 'GET', '/no-such-page.htm', { auth: false })).status).toBe(404);
});

test('screens: packages, instances, workers, lookups, job', async ({ page }) => {
  const pkg = unique('pk');
  await openLoggedIn(page, s, '/ui/packages');
  const add = page.getByRole('form', { name: 'add a package' });
  await add.getByLabel('Name').fill(pkg);
  await add.getByLabel('Version').fill('2.0-1');
  await add.getByRole('button', { name: 'Add package' }).click();
  await expect(page.getByTestId('packages').getByRole('cell', { name: pkg, exact: true })).toBeVisible();
  await page.screenshot(shot('packages'));

  await page.getByRole('link', { name: 'Package instances' }).click();
  const inst = page.getByRole('form', { name: 'add a package instance' });
  await inst.getByLabel('Package').selectOption(pkg);
  await inst.getByLabel('Architecture').selectOption({ label: HOST_ARCH });
  await inst.getByLabel('Suite').selectOption({ label: suite });
  await inst.getByLabel('Distribution').selectOption({ label: 'Debian' });
  await inst.getByLabel('Format').selectOption({ label: 'deb' });
  await inst.getByRole('button', { name: 'Add instance' }).click();
  const row = page.getByTestId('instances').getByRole('row').filter({ hasText: pkg });
  await expect(row).toContainText('master');
  await row.getByRole('checkbox').uncheck();
  await expect(row).toContainText('slave');
  const instances = (await ok(rest(s, 'GET', '/packageinstance', { auth: false }), 'instances')).json<Array<{ package: { name: string }; master: boolean }>>();
  expect(instances.find((i) => i.package.name === pkg)!.master).toBe(false);
  await page.screenshot(shot('instances'));

  // Submit for that instance, as pyBit's job page did.
  await page.getByRole('link', { name: 'Submit' }).click();
  await page.getByRole('tab', { name: 'From a package instance' }).click();
  const f = page.getByRole('form', { name: 'submit for a package instance' });
  await f.getByLabel('Package', { exact: true }).selectOption(pkg);
  await f.getByLabel('Package instance').selectOption({ index: 1 });
  await f.getByLabel('URL').fill('https://git.invalid/pk.git');
  await f.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByTestId('submit-result')).toContainText('Created 1 job');
  await page.getByRole('tab', { name: 'Upload .dsc/.changes' }).click();
  await expect(page.getByRole('form', { name: 'upload a source package' }).getByRole('button', { name: 'Upload and submit' })).toBeEnabled();
  await page.screenshot(shot('submit-upload'));

  await page.getByRole('link', { name: 'Workers' }).click();
  await expect(page.getByTestId('workers')).toContainText(HOST_ARCH);
  await page.screenshot(shot('workers'));

  await page.getByRole('link', { name: 'Lookups' }).click();
  await page.getByRole('link', { name: 'Statuses' }).click();
  await expect(page.getByRole('note')).toContainText('NOT to be edited');
  await expect(page.getByRole('form', { name: 'add statuses' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Build environments' }).click();
  await expect(page.getByTestId('env-mappings')).toBeVisible();
  await page.screenshot(shot('lookups-envs'));
  await page.getByRole('link', { name: 'Blacklist rules' }).click();
  await expect(page.getByTestId('blacklist')).toContainText('source package name');
  await page.screenshot(shot('lookups-blacklist'));

  const [id] = await submit(s, { package: unique('jb'), suite });
  await page.goto(`${s.url}/ui/jobs/${id}`);
  await expect(page.getByTestId('job-history')).toContainText('Waiting');
  await page.screenshot(shot('job'));
});

test('a controller without a built UI says so at /', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'buildbox-noui-'));
  const bare = await startServer('serve', ['--no-amqp'], { BUILDBOX_UI_DIR: empty });
  try {
    const r = await rest(bare, 'GET', '/', { auth: false });
    expect(r.status).toBe(200);
    expect(r.text).toContain('The web UI is not built');
    expect((await rest(bare, 'GET', '/job', { auth: false })).status).toBe(200);
  } finally {
    await bare.stop();
    rmSync(empty, { recursive: true, force: true });
  }
});
