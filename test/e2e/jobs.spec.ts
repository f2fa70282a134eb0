// The Jobs screen over 2,000 jobs: filters, counts, paging by scrolling, and bulk cancel.
import { expect, test } from '@playwright/test';
import { ok, openLoggedIn, parallel, rest, seedTargets, shot, startServer, submit, unique, type Server } from './helpers';

let s: Server;
let suite: string;
const failed: number[] = [];
const N = 2000;
const ARCHES = ['amd64', 'arm64', 'armhf', 'i386'];
let oldestBeta = 0;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  // `serve` without a broker: no worker takes the jobs, so they stay as seeded.
  s = await startServer('serve', ['--no-amqp']);
  suite = unique('s');
  await seedTargets(s, suite, ARCHES);
  // Each submission fans out to one job per mapped architecture.
  const names = Array.from({ length: N / ARCHES.length }, (_, i) => `${i % 2 ? 'beta' : 'alpha'}-${String(i).padStart(4, '0')}`);
  const ids: Record<string, number[]> = {};
  await parallel(names, 6, async (name) => {
    ids[name] = await submit(s, { package: name, suite });
    expect(ids[name]).toHaveLength(ARCHES.length);
  });
  oldestBeta = Math.min(...names.filter((n) => n.startsWith('beta')).flatMap((n) => ids[n]!));
  // Fail the first job of every 10th beta package through the pyBit client protocol.
  const toFail = names.filter((n, i) => n.startsWith('beta') && i % 20 === 1).map((n) => ids[n]![0]!);
  await parallel(toFail, 8, async (id) => {
    await ok(rest(s, 'PUT', `/job/${id}`, { form: { status: 'Failed' } }), `fail ${id}`);
    failed.push(id);
  });
});

test.afterAll(async () => {
  await s?.stop();
});

test('filter and page through 2,000 jobs, then bulk-cancel a selection', async ({ page }) => {
  await openLoggedIn(page, s, '/ui/jobs');
  await expect(page.getByTestId('jobs-total')).toHaveText(`${N} jobs`);
  await expect(page.getByRole('button', { name: /^Failed/ })).toContainText(String(failed.length));
  await page.screenshot(shot('jobs'));

  // Text filter: half of the jobs.
  await page.getByLabel('Text').fill('beta');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await expect(page.getByTestId('jobs-total')).toHaveText(`${N / 2} jobs`);
  expect(page.url()).toContain('q=beta');

  // Page through by scrolling the virtualised list until every matching job is loaded.
  const scroller = page.getByTestId('jobs-scroll');
  await expect(async () => {
    await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await expect(page.getByTestId('jobs-loaded')).toHaveText(`${N / 2} loaded`, { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  // Only a window of rows is in the DOM, and the oldest beta job is at the bottom.
  const rendered = await page.locator('[data-job-id]').count();
  expect(rendered).toBeLessThan(100);
  await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await expect(page.locator('[data-job-id]').last()).toHaveAttribute('data-job-id', String(oldestBeta));

  // Status filter on top of the text filter.
  await page.getByRole('button', { name: /^Failed/ }).click();
  await expect(page.getByTestId('jobs-total')).toHaveText(`${failed.length} jobs`);
  for (const id of failed.slice(0, 3)) await expect(page.locator(`[data-job-id="${id}"]`)).toBeVisible();

  // Bulk cancel two of them; the list follows over the event stream.
  await page.getByRole('button', { name: /^Failed/ }).click();
  await page.getByRole('button', { name: /^Waiting/ }).click();
  await page.getByLabel('Package').fill('beta-0003');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.getByLabel('Arch').selectOption('arm64');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await expect(page.getByTestId('jobs-total')).toHaveText('1 job');
  const row = page.locator('[data-job-id]').first();
  const id = Number(await row.getAttribute('data-job-id'));
  await row.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Cancel selected (1)' }).click();
  await expect(page.getByText('Cancelled 1, asked 0 to stop')).toBeVisible();
  await expect(page.getByTestId('jobs-total')).toHaveText('0 jobs');
  const after = (await ok(rest(s, 'GET', `/api/v1/jobs/${id}`, { auth: false }), 'job')).json<{ status: string }>();
  expect(after.status).toBe('Cancelled');
});
