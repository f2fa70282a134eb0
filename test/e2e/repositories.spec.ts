// The Repositories screen against real controllers: (a) a webhook repository added in the UI,
// its URL and secret read off the page and used for a GitHub-signed push that queues a job, then
// deleted after a confirmation; (b) `buildbox box --publish` with a local dpkg worker builds a
// generated package to Done, and the screen lists it in its suite with its version, the .deb
// link and the apt sources line; (c) with --sign-key the line is signed-by a keyring and the
// screen names the key that signed the repository.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceServer } from '../worker-e2e/sources';
import { ok, openLoggedIn, rest, seedTargets, shot, startServer, submit, unique, type Server } from './helpers';

const HOST_ARCH = execFileSync('dpkg', ['--print-architecture']).toString().trim();

let s: Server | undefined;
let src: SourceServer | undefined;
let srcDir: string;

test.beforeEach(async () => {
  srcDir = mkdtempSync(join(tmpdir(), 'buildbox-e2e-repos-'));
  src = await SourceServer.start(srcDir);
});

test.afterEach(async () => {
  await s?.stop();
  s = undefined;
  await src?.close();
  rmSync(srcDir, { recursive: true, force: true });
});

test('add a GitHub webhook repository, push to it with its secret, delete it', async ({ page }) => {
  s = await startServer('serve', ['--no-amqp']);
  const suite = unique('s');
  await seedTargets(s, suite, [HOST_ARCH]);
  const g = src!.git({ name: unique('bbhook'), version: '2.1', distribution: suite });
  const name = unique('web');

  // Without a credential the screen says who may manage webhooks; the apt part says publishing is off.
  await page.goto(`${s.url}/ui/repositories`);
  await expect(page.getByTestId('webhooks-login-needed')).toContainText('administrators');
  await expect(page.getByTestId('publishing-off')).toContainText('--publish');

  await openLoggedIn(page, s, '/ui/repositories');
  const form = page.getByRole('form', { name: 'add a webhook repository' });
  // The form checks with the server's schema before sending anything.
  await form.getByLabel('Name').fill('-bad name');
  await form.getByLabel('Clone URL').fill('nowhere');
  await form.getByRole('button', { name: 'Add repository' }).click();
  await expect(form.getByText('must start with a letter or digit')).toBeVisible();
  await expect(form.getByText('must be a git URL')).toBeVisible();

  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Provider').selectOption('github');
  await form.getByLabel('Clone URL').fill(g.uri);
  await form.getByRole('button', { name: 'Add repository' }).click();

  const panel = page.getByTestId('repository-secret');
  await expect(panel).toBeVisible();
  await expect(page.getByTestId('provider-hint')).toContainText('application/json');
  const webhookUrl = await page.getByTestId('created-webhook-url').inputValue();
  const secret = await page.getByTestId('created-secret').inputValue();
  expect(webhookUrl).toBe(`${s.url}/api/v1/hooks/github?repository=${name}`);
  expect(secret).toMatch(/^[0-9a-f]{48}$/);
  const row = page.getByTestId(`repository-${name}`);
  await expect(row).toContainText('never');
  await page.screenshot({ path: 'test-results/repositories-webhook-created.png', fullPage: true });

  // A push as GitHub sends it, signed with the secret the page showed.
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: g.commit,
    repository: { full_name: `tests/${g.name}`, clone_url: g.uri },
    commits: [{ id: g.commit, added: [], modified: ['debian/changelog'], removed: [] }],
  });
  const push = await fetch(webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
    body,
  });
  const pushed = (await push.json()) as { queued: Array<{ package: string; jobIds: number[] }> };
  expect(push.status, JSON.stringify(pushed)).toBe(201);
  expect(pushed.queued[0]!.package).toBe(g.name);
  const jobId = pushed.queued[0]!.jobIds[0]!;
  const jobs = (await ok(rest(s, 'GET', `/api/v1/jobs?package=${g.name}`), 'jobs')).json<{ items: Array<{ id: number; version: string }> }>();
  expect(jobs.items.map((j) => j.id)).toContain(jobId);
  expect(jobs.items[0]!.version).toBe('2.1');

  // The job is on the Jobs screen, and the repository now shows a delivery.
  await page.goto(`${s.url}/ui/jobs/${jobId}`);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(`Job ${jobId}`);
  await expect(page.locator('dl.facts').first()).toContainText(g.name);
  await page.goto(`${s.url}/ui/repositories`);
  await expect(row).not.toContainText('never');

  // A new secret: the old one is refused from then on.
  await row.getByRole('button', { name: 'New secret' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Make a new secret' }).click();
  await expect(panel).toContainText('has a new secret');
  const rotated = await page.getByTestId('created-secret').inputValue();
  expect(rotated).toMatch(/^[0-9a-f]{48}$/);
  expect(rotated).not.toBe(secret);
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(panel).toHaveCount(0);

  // Delete asks first; keeping changes nothing.
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Keep' }).click();
  await expect(row).toBeVisible();
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: `Delete ${name}` }).click();
  await expect(row).toHaveCount(0);
  const listed = (await ok(rest(s, 'GET', '/api/v1/repositories'), 'list')).json<{ items: Array<{ name: string }> }>();
  expect(listed.items.map((r) => r.name)).not.toContain(name);
});

/** Builds a generated package to Done on `s` and waits until it is published into Debian/<suite>. */
async function buildAndPublish(srv: Server, suite: string, version: string): Promise<string> {
  await seedTargets(srv, suite, [HOST_ARCH]);
  const g = src!.git({ name: unique('bbpub'), version });
  const [jobId] = await submit(srv, { package: g.name, version: g.version, suite, arch_list: HOST_ARCH, uri: g.uri, vcs_id: g.commit });
  await expect
    .poll(async () => (await rest(srv, 'GET', `/api/v1/jobs/${jobId}`)).json<{ status: string }>().status, { timeout: 90_000 })
    .toBe('Done');
  await expect
    .poll(
      async () => {
        const r = await rest(srv, 'GET', '/api/v1/repo/Debian');
        return r.status === 200 ? JSON.stringify(r.json<{ suites: Record<string, unknown> }>().suites[suite] ?? []) : '';
      },
      { timeout: 60_000 },
    )
    .toContain(g.name);
  return g.name;
}

test('a package built to Done with publishing on is listed in its suite with its version', async ({ page }) => {
  const suite = unique('s');
  s = await startServer('box', ['--no-amqp', '--backend', 'dpkg', '--suite', suite, '--publish']);
  await openLoggedIn(page, s, '/ui/repositories');
  await expect(page.getByTestId('publishing-empty')).toContainText('Nothing has been published yet');
  const name = await buildAndPublish(s, suite, '3.0');

  // The open page picks the new package up after the job's change to Done, without a reload.
  const table = page.getByTestId(`apt-packages-${suite}`);
  const binary = table.getByRole('row').filter({ hasText: name }).filter({ hasText: HOST_ARCH });
  await expect(binary).toContainText('3.0', { timeout: 30_000 });
  const deb = binary.getByRole('link', { name: `${name}_3.0_${HOST_ARCH}.deb` });
  await expect(deb).toBeVisible();

  // The sources line: unsigned, so trusted=yes, at this controller's /repo/Debian.
  await expect(page.getByTestId(`apt-line-${suite}`)).toHaveValue(`deb [trusted=yes] ${s.url}/repo/Debian ${suite} main`);
  await expect(page.getByTestId(`apt-key-${suite}`)).toContainText('Unsigned');

  // The link serves the package apt would fetch.
  const href = await deb.getAttribute('href');
  const got = await fetch(href!);
  expect(got.status).toBe(200);
  expect(got.headers.get('content-type')).toBe('application/vnd.debian.binary-package');

  // The filter narrows the list.
  const filter = page.getByRole('searchbox', { name: `filter packages in ${suite}` });
  await filter.fill('no-such-package');
  await expect(binary).toHaveCount(0);
  await expect(page.getByText('No package matches')).toBeVisible();
  await filter.fill(name.slice(0, 8));
  await expect(binary).toBeVisible();
  await page.screenshot({ path: 'test-results/repositories-apt.png', fullPage: true });
});

test('with a signing key the sources line is signed-by a keyring and names the key', async ({ page }) => {
  const suite = unique('s');
  const gnupgHome = mkdtempSync(join(tmpdir(), 'buildbox-e2e-gpg-'));
  try {
    const gpg = (...args: string[]) => execFileSync('gpg', ['--batch', ...args], { env: { ...process.env, GNUPGHOME: gnupgHome }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    gpg('--passphrase', '', '--quick-gen-key', 'Buildbox UI Test <ui-sign@buildbox.invalid>', 'default', 'default', 'never');
    const fpr = /^fpr:+([0-9A-F]+):/m.exec(gpg('--with-colons', '--list-secret-keys'))![1]!;
    s = await startServer('box', ['--no-amqp', '--backend', 'dpkg', '--suite', suite, '--sign-key', fpr], { GNUPGHOME: gnupgHome });
    const name = await buildAndPublish(s, suite, '1.2');

    await openLoggedIn(page, s, '/ui/repositories');
    await expect(page.getByTestId(`apt-packages-${suite}`)).toContainText(name);
    await expect(page.getByTestId(`apt-line-${suite}`)).toHaveValue(`deb [signed-by=/usr/share/keyrings/buildbox-debian.gpg] ${s.url}/repo/Debian ${suite} main`);
    // The key is named by the fingerprint read from the repository's own InRelease signature.
    await expect(page.getByTestId(`apt-key-${suite}`)).toContainText(`Signed by key ${fpr}`);
    await expect(page.getByTestId(`apt-key-${suite}`)).toContainText(`gpg --export ${fpr}`);
    await page.screenshot({ path: 'test-results/repositories-apt-signed.png', fullPage: true });
  } finally {
    await s?.stop();
    s = undefined;
    rmSync(gnupgHome, { recursive: true, force: true });
  }
});
