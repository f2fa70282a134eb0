// The log viewer's live tail without a real build: a job claimed with a worker token, its log
// appended with PUT /api/v1/jobs/:id/log?offset= as a worker's streamer does, the lines showing
// as they arrive; scrolling up stops following while the log keeps growing; the end of the job
// ends the tail with every byte shown.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, ok, openLoggedIn, rest, seedTargets, startServer, submit, unique, type Server } from './helpers';

let s: Server;

test.beforeEach(async () => {
  s = await startServer('serve', ['--no-amqp', '--scan-interval', '0', '--lease-seconds', '600']);
});

test.afterEach(async () => {
  await s?.stop();
});

test('live tail: appended lines appear, scrolling up stops following, the end shows every byte', async ({ page }) => {
  const suite = unique('lt');
  await seedTargets(s, suite, ['amd64']);
  const [id] = await submit(s, { package: unique('ltpkg'), suite });
  const token = execFileSync(process.execPath, [CLI, 'user', 'token', 'w', '--worker', '--db', join(s.dataDir, 'buildbox.db')])
    .toString()
    .match(/bbx_[A-Za-z0-9_-]+/)?.[0];
  expect(token).toBeTruthy();
  const worker = unique('build_client_');
  const auth = `Bearer ${token}`;
  const claim = await fetch(`${s.url}/api/v1/jobs/${id}/claim`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ worker }) });
  expect(claim.status).toBe(200);
  let offset = 0;
  let n = 0;
  const append = async (lines: number) => {
    let text = '';
    for (let i = 0; i < lines; i++) text += `tail-line ${String(++n).padStart(6, '0')}\n`;
    const r = await fetch(`${s.url}/api/v1/jobs/${id}/log?offset=${offset}&worker=${encodeURIComponent(worker)}`, { method: 'PUT', headers: { authorization: auth, 'content-type': 'application/octet-stream' }, body: text });
    expect(r.status, await r.text()).toBe(200);
    offset += Buffer.byteLength(text);
  };

  await openLoggedIn(page, s, `/ui/jobs/${id}`);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Building');
  const log = page.getByTestId('log-body');
  const follow = page.getByRole('checkbox', { name: 'Follow' });
  await expect(follow).toBeChecked();

  // Many chunks: the viewer follows the bottom through all of them.
  for (let i = 0; i < 20; i++) await append(250);
  await expect(log).toContainText('tail-line 005000');
  await expect(page.getByTestId('log-size')).toContainText('5000 lines');
  await expect(follow).toBeChecked();

  // The reader scrolls up: following stops, and new lines do not pull the view down.
  await log.hover();
  await page.mouse.wheel(0, -3000);
  await expect(follow).not.toBeChecked();
  await append(500);
  await expect(page.getByTestId('log-size')).toContainText('5500 lines');
  await expect(log).not.toContainText('tail-line 005500');

  // Following again jumps to the end.
  await follow.check();
  await expect(log).toContainText('tail-line 005500');

  // The last chunk, then the job ends: everything written is shown.
  await append(7);
  const fin = await fetch(`${s.url}/api/v1/jobs/${id}/finish`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ worker, status: 'Done', result: 'OK' }),
  });
  expect(fin.status, await fin.text()).toBeLessThan(300);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Done');
  await expect(log).toContainText('tail-line 005507');
  await expect(page.getByTestId('log-size')).toContainText(`5507 lines · ${offset} bytes`);
  const stored = (await ok(rest(s, 'GET', `/api/v1/jobs/${id}/log`, { auth: false }), 'log')).text;
  expect(stored.length).toBe(offset);
});
