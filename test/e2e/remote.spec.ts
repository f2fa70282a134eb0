// Remote mode: the UI talks to a separate `serve` on PostgreSQL (its own schema). Once as that
// controller's own page, and once as the desktop app would run it: the page comes from another
// controller and the preload bridge (`window.buildbox`) hands it the remote URL and a token.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { CLI, PG_BASE_URL, ok, rest, seedTargets, shot, startServer, submit, unique, type Server } from './helpers';

let remote: Server;
let local: Server;
let schema: string;
let dbUrl: string;

test.beforeAll(async () => {
  schema = unique('e2e_').toLowerCase();
  const u = new URL(PG_BASE_URL);
  u.searchParams.set('schema', schema);
  dbUrl = u.toString();
  remote = await startServer('serve', ['--no-amqp', '--db', dbUrl]);
  local = await startServer('serve', ['--no-amqp']);
});

test.afterAll(async () => {
  await remote?.stop();
  await local?.stop();
  const c = new pg.Client({ connectionString: PG_BASE_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
});

test('the UI on a PostgreSQL-backed serve, directly and through the desktop bridge', async ({ page }) => {
  const suite = unique('pgs');
  const pkg = unique('pgpkg');
  await seedTargets(remote, suite, ['amd64', 'arm64']);
  const ids = await submit(remote, { package: pkg, suite });
  expect(ids).toHaveLength(2);

  // The remote controller's own page.
  await page.goto(`${remote.url}/ui/jobs?package=${pkg}`);
  await expect(page.getByTestId('jobs-total')).toHaveText('2 jobs');

  // The desktop app's way: the page is served elsewhere; the bridge names the remote controller.
  const token = execFileSync(process.execPath, [CLI, 'user', 'token', 'admin', '--db', dbUrl, '--label', 'e2e'])
    .toString()
    .match(/bbx_[A-Za-z0-9_-]+/)?.[0];
  expect(token).toBeTruthy();
  await page.addInitScript(`window.buildbox = {
    getConnection: async () => ({ baseUrl: ${JSON.stringify(remote.url)}, token: ${JSON.stringify(token)}, mode: 'remote' }),
    onConnectionChanged: () => () => {},
  };`);
  await page.goto(`${local.url}/ui/dashboard`);
  await expect(page.getByTestId('count-Waiting')).toHaveText('2');
  await expect(page.getByTestId('unfinished-jobs')).toContainText(pkg);
  await expect(page.getByTestId('live-state')).toHaveText('live');
  await page.screenshot(shot('dashboard-remote'));
  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByTestId('base-url')).toHaveText(remote.url);
  await expect(page.getByTestId('credential-state')).toContainText('a token');

  // A write with the bridge's token reaches the PostgreSQL database, and the live stream shows it.
  await page.goto(`${local.url}/ui/jobs/${ids[0]}`);
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Cancelled');
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const r = await c.query(`SELECT status FROM "${schema}".job WHERE id = $1`, [ids[0]]);
    expect(r.rows[0].status).toBe('Cancelled');
  } finally {
    await c.end();
  }
  // The local controller saw none of it.
  const localJobs = (await ok(rest(local, 'GET', '/api/v1/jobs', { auth: false }), 'jobs')).json<{ total: number }>();
  expect(localJobs.total).toBe(0);
});
