// The dashboard's activity chart reads the controller's aggregate over every job: it counts
// what was submitted and waits, follows new submissions through the event stream (there is no
// polling), and changes its window on request.
import { expect, test } from '@playwright/test';
import { openLoggedIn, parallel, seedTargets, startServer, submit, unique, type Server } from './helpers';

let s: Server | undefined;

test.afterEach(async () => {
  await s?.stop();
  s = undefined;
});

test('the activity chart counts submissions over the window and follows new ones live', async ({ page }) => {
  s = await startServer('serve', ['--no-amqp']);
  const suite = unique('s');
  await seedTargets(s, suite, ['amd64']);
  await parallel([1, 2, 3], 3, (i) => submit(s!, { package: unique(`act${i}-`), suite, arch_list: 'amd64' }));

  await openLoggedIn(page, s, '/ui/dashboard');
  const chart = page.getByTestId('activity-chart');
  await expect(chart.getByTestId('activity-totals')).toContainText('3 submitted, 0 done, 0 failed in 12 h');
  // Nothing has been taken: every job still waits at the end of the current bucket.
  await expect(chart.getByTestId('activity-bucket').last()).toHaveAttribute('data-waiting', '3');
  await expect(chart.getByTestId('activity-bucket')).toHaveCount(12);

  // Submitted while the page is open: the job events bring the chart up to date.
  await parallel([4, 5], 2, (i) => submit(s!, { package: unique(`act${i}-`), suite, arch_list: 'amd64' }));
  await expect(chart.getByTestId('activity-totals')).toContainText('5 submitted');
  await expect(chart.getByTestId('activity-bucket').last()).toHaveAttribute('data-waiting', '5');

  // A week in 6-hour buckets.
  await page.getByLabel('activity window').selectOption('168');
  await expect(chart.getByTestId('activity-totals')).toContainText('5 submitted, 0 done, 0 failed in 168 h');
  await expect(chart.getByTestId('activity-bucket')).toHaveCount(28);
  await page.screenshot({ path: 'test-results/dashboard-activity.png' });
});
