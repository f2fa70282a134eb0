// Settings → Users and tokens against a real controller: the administrator logs in on the
// Settings screen, adds a user and makes a token for it in the UI; the token works against the
// API (called from the test), is revoked in the UI, and the API refuses it from then on. The new
// user then logs in and sees only its own tokens and no user management.
import { expect, test } from '@playwright/test';
import { ok, rest, shot, startServer, unique, type Server } from './helpers';

let s: Server;
test.beforeEach(async () => {
  s = await startServer('serve', ['--no-amqp']);
});
test.afterEach(async () => {
  await s?.stop();
});

async function meWith(authorization: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${s.url}/api/v1/me`, { headers: { authorization } });
  return { status: r.status, body: await r.json() };
}

test('an administrator adds a user and a token in the UI; the token works until it is revoked in the UI', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
  const name = unique('ann');

  await page.goto(`${s.url}/ui/settings`);
  await expect(page.getByTestId('users-login-needed')).toContainText('Log in');
  const login = page.getByRole('form', { name: 'log in' });
  await login.getByLabel('User').fill('admin');
  await login.getByLabel('Password').fill(s.password);
  await login.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('whoami')).toHaveText(/^admin \(administrator\)/);

  // A bad name is refused in the browser, beside the field, before any request.
  const addUser = page.getByRole('form', { name: 'add a user' });
  await addUser.getByLabel('User name').fill('no:colons');
  await addUser.getByRole('button', { name: 'Add user' }).click();
  await expect(addUser.getByRole('alert')).toContainText('must start with a letter or digit');
  expect((await rest(s, 'GET', '/api/v1/users')).json<{ items: unknown[] }>().items).toHaveLength(1);

  // Added with a generated password, shown once.
  await addUser.getByLabel('User name').fill(name);
  await addUser.getByRole('button', { name: 'Add user' }).click();
  const reveal = page.getByTestId('new-password');
  await expect(reveal).toContainText(`Password of ${name}`);
  const password = await reveal.getByRole('textbox').inputValue();
  expect(password.length).toBeGreaterThanOrEqual(12);
  await expect(page.getByTestId(`user-${name}`)).toBeVisible();
  const basicAuth = `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
  expect((await meWith(basicAuth)).body).toEqual({ name, kind: 'user', isAdmin: false });
  await reveal.getByRole('button', { name: 'Done' }).click();
  await expect(reveal).toHaveCount(0);

  // A token for the new user, made with the keyboard: type the name, pick the user, Enter.
  const newToken = page.getByRole('form', { name: 'new token' });
  await newToken.getByLabel('For user').selectOption(name);
  await newToken.getByLabel('Token name').fill('laptop');
  await newToken.getByLabel('Token name').press('Enter');
  const shown = page.getByTestId('new-token');
  await expect(shown).toContainText(`Token “laptop” for ${name}`);
  const token = await shown.getByRole('textbox').inputValue();
  expect(token).toMatch(/^bbx_/);
  await shown.getByRole('button', { name: 'Copy' }).click();
  await expect(shown).toContainText('Copied.');
  expect(await page.evaluate('navigator.clipboard.readText()')).toBe(token);

  // The token works against the API, as that user.
  const used = await meWith(`Bearer ${token}`);
  expect(used.status).toBe(200);
  expect(used.body).toMatchObject({ name, kind: 'user', isAdmin: false });
  const tokenId = used.body.tokenId as number;
  const row = page.getByTestId('all-tokens').getByTestId(`token-${tokenId}`);
  await expect(row).toContainText('laptop');
  await expect(row).toContainText(name);
  await expect(row).toContainText('active');
  await expect(page.getByTestId(`user-${name}`).getByRole('cell', { name: '1', exact: true })).toBeVisible();
  await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
  await page.screenshot(shot('settings-users'));

  // Revoked in the UI after a confirmation; the API refuses it on the next request.
  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
  await expect(row).toContainText('revoked');
  expect((await meWith(`Bearer ${token}`)).status).toBe(401);
  const listed = (await rest(s, 'GET', '/api/v1/tokens')).json<{ items: Array<{ id: number; revokedAt: string | null }> }>();
  expect(listed.items.find((t) => t.id === tokenId)?.revokedAt).toBeTruthy();

  // The new user sees only its own tokens and no user management.
  await ok(rest(s, 'POST', '/api/v1/tokens', { json: { name: 'admin-own' } }), 'admin token');
  await login.getByLabel('User').fill(name);
  await login.getByLabel('Password').fill(password);
  await login.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('whoami')).toHaveText(new RegExp(`^${name} · with a password`));
  await expect(page.getByTestId('my-tokens')).toContainText('laptop');
  await expect(page.getByTestId('my-tokens')).not.toContainText('admin-own');
  await expect(page.getByTestId('users')).toHaveCount(0);
  await expect(page.getByTestId('all-tokens')).toHaveCount(0);
  await expect(page.getByRole('form', { name: 'add a user' })).toHaveCount(0);
});
