// Logging in on the Settings screen, creating an arch, a suite and suite-arch mappings through
// the Lookups screen, then submitting from the Submit screen and seeing it fan out to one job per
// mapped architecture.
import { expect, test } from '@playwright/test';
import { ok, rest, shot, startServer, unique, type Server } from './helpers';

let s: Server;
test.beforeEach(async () => {
  s = await startServer('serve', ['--no-amqp']);
});
test.afterEach(async () => {
  await s?.stop();
});

test('create arches, a suite and mappings in the UI, then a submission fans out', async ({ page }) => {
  const [arch1, arch2, suite, pkg] = [unique('arch'), unique('arch'), unique('suite'), unique('pkg')];

  await page.goto(`${s.url}/ui/settings`);
  await expect(page.getByTestId('base-url')).toHaveText(s.url);
  await page.getByLabel('User').fill('admin');
  await page.getByLabel('Password').fill(s.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('credential-state')).toHaveText('logged in as user admin');
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByRole('status')).toContainText('Credential accepted');
  await page.screenshot(shot('settings'));

  // Keyboard: the screens are reachable from the header.
  await page.getByRole('link', { name: 'Lookups' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Architectures', level: 2 })).toBeVisible();
  const archForm = page.getByRole('form', { name: 'add architectures' });
  for (const a of [arch1, arch2]) {
    await archForm.getByLabel('Name').fill(a);
    await archForm.getByRole('button', { name: 'Add' }).click();
    await expect(page.getByTestId('lookup-arch').getByRole('cell', { name: a, exact: true })).toBeVisible();
  }

  await page.getByRole('navigation', { name: 'lookup tables' }).getByRole('link', { name: 'Suites' }).click();
  const suiteForm = page.getByRole('form', { name: 'add suites' });
  await suiteForm.getByLabel('Name').fill(suite);
  await suiteForm.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByTestId('lookup-suite').getByRole('cell', { name: suite, exact: true })).toBeVisible();

  const mapForm = page.getByRole('form', { name: 'add a suite architecture' });
  for (const [a, w] of [
    [arch1, '10'],
    [arch2, '0'],
  ] as const) {
    await mapForm.getByLabel('Suite').selectOption({ label: suite });
    await mapForm.getByLabel('Architecture').selectOption({ label: a });
    await mapForm.getByLabel('Master weight').fill(w);
    await mapForm.getByRole('button', { name: 'Add mapping' }).click();
    await expect(page.getByTestId('suitearches').getByRole('cell', { name: `${suite}/${a}`, exact: true })).toBeVisible();
  }
  await page.screenshot(shot('lookups'));

  await page.getByRole('link', { name: 'Submit' }).click();
  const form = page.getByRole('form', { name: 'submit from a URL' });
  await form.getByLabel('URL').fill('https://git.invalid/hello.git');
  await form.getByLabel('Revision (branch, tag or commit)').fill('main');
  await form.getByLabel('Package').fill(pkg);
  await form.getByLabel('Version').fill('1.0-1');
  await form.getByLabel('Suite').selectOption(suite);
  // The suite's mapped architectures are offered; none ticked = every mapped one.
  await expect(form.getByRole('checkbox', { name: new RegExp(arch1) })).toBeVisible();
  await expect(form.getByRole('checkbox', { name: new RegExp(arch2) })).toBeVisible();
  await page.screenshot(shot('submit'));
  await form.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByTestId('submit-result')).toContainText('Created 2 jobs');

  const jobs = (await ok(rest(s, 'GET', `/api/v1/jobs?suite=${suite}`, { auth: false }), 'jobs')).json<{ total: number; items: Array<{ arch: string; master: boolean }> }>();
  expect(jobs.total).toBe(2);
  expect(jobs.items.map((j) => j.arch).sort()).toEqual([arch1, arch2].sort());
  expect(jobs.items.find((j) => j.arch === arch1)!.master).toBe(true);

  // The links lead to the new jobs.
  await page.getByTestId('submit-result').getByRole('link').first().click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Job');
  await expect(page.getByTestId('job-history')).toContainText('Waiting');
});

test('API errors are shown readably beside the control that caused them', async ({ page }) => {
  const suite = unique('suite');
  await ok(rest(s, 'POST', '/suite', { form: { name: suite } }), 'suite');
  await page.goto(`${s.url}/ui/lookups/arches`);

  // Not logged in: the UI says so instead of sending the write.
  const archForm = page.getByRole('form', { name: 'add architectures' });
  await archForm.getByLabel('Name').fill(unique('arch'));
  await archForm.getByRole('button', { name: 'Add' }).click();
  await expect(archForm.getByRole('alert')).toContainText('log in first');

  // A wrong password: the controller's 401, in words.
  await page.evaluate(`window.localStorage.setItem('buildbox.credential', 'admin:wrong-password')`);
  await page.reload();
  await archForm.getByLabel('Name').fill(unique('arch'));
  await archForm.getByRole('button', { name: 'Add' }).click();
  await expect(archForm.getByRole('alert')).toContainText('Unauthorized (HTTP 401)');

  // Logged in: a submission the server refuses shows the server's reason by the Submit button.
  await page.evaluate(`window.localStorage.setItem('buildbox.credential', ${JSON.stringify(`admin:${s.password}`)})`);
  await page.goto(`${s.url}/ui/submit`);
  const form = page.getByRole('form', { name: 'submit from a URL' });
  await form.getByLabel('URL').fill('https://git.invalid/x.git');
  await form.getByLabel('Package').fill('hello');
  await form.getByLabel('Version').fill('1.0-1');
  await form.getByLabel('Suite').selectOption(suite);
  await form.getByRole('button', { name: 'Submit' }).click();
  const alert = form.locator('.row').getByRole('alert');
  await expect(alert).toContainText(`suite '${suite}' has no architectures configured`);
  await expect(alert).toContainText('HTTP 400');
  await page.screenshot(shot('api-error'));

  // Client-side validation with the server's schema: an empty package is named before sending.
  await form.getByLabel('Package').fill('');
  await form.getByRole('button', { name: 'Submit' }).click();
  await expect(form.getByText('must not be empty')).toBeVisible();
});
