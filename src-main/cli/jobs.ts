// `buildbox jobs | logs | cancel | retry`: the job list, a job's build log (whole, or followed
// live with -f), and cancel/retry, against a controller's /api/v1.
import type { Command } from 'commander';
import { STATUSES } from '@shared/statuses';
import type { JobListParams, StatusName } from '@shared/api';
import { addConnectionOptions, connection } from './submit';
import { clientFor, followLog, readLog } from './follow';

function jobId(s: string): number {
  if (!/^[1-9]\d{0,14}$/.test(s)) throw new Error(`job id must be a positive integer, got '${s}'`);
  return Number(s);
}

/** Left-aligned columns, two spaces apart. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

interface JobsFlags {
  controller: string;
  token?: string;
  status?: string;
  package?: string;
  suite?: string;
  limit: string;
}

async function jobsCommand(o: JobsFlags): Promise<void> {
  const c = connection(o);
  const statuses = (o.status ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of statuses) {
    if (!(STATUSES as readonly string[]).includes(s)) throw new Error(`--status: '${s}' is not a job status (${STATUSES.join(', ')})`);
  }
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new Error(`--limit must be 1..500, got '${o.limit}'`);
  const params: JobListParams = { limit };
  if (statuses.length) params.status = statuses as StatusName[];
  if (o.package) params.package = o.package;
  if (o.suite) params.suite = o.suite;
  const page = await clientFor(c).listJobs(params);
  const rows = page.items.map((j) => [String(j.id), j.package, j.version, j.arch, j.suite, j.status, j.result ?? '', j.client ?? '', j.updatedAt.replace('T', ' ').slice(0, 19)]);
  process.stdout.write(table(['ID', 'PACKAGE', 'VERSION', 'ARCH', 'SUITE', 'STATUS', 'RESULT', 'CLIENT', 'UPDATED'], rows));
  if (page.total > page.items.length) process.stderr.write(`(${page.items.length} of ${page.total} jobs; use --limit for more)\n`);
}

async function logsCommand(id: string, o: { controller: string; token?: string; follow?: boolean }): Promise<void> {
  const c = connection(o);
  const n = jobId(id);
  if (!o.follow) {
    process.stdout.write(await readLog(c, n));
    return;
  }
  const status = await followLog(c, n, { onText: (t) => process.stdout.write(t), onReset: () => process.stdout.write('\n--- a new build attempt starts ---\n') });
  process.stderr.write(`job ${n}: ${status}\n`);
}

export function registerJobs(program: Command): void {
  addConnectionOptions(
    program
      .command('jobs')
      .description('list jobs, newest first')
      .option('--status <list>', `only these latest statuses, comma-separated (${STATUSES.join(', ')})`)
      .option('--package <name>', 'only this source package')
      .option('--suite <name>', 'only this suite')
      .option('--limit <n>', 'at most this many jobs', '50'),
  ).action(jobsCommand);

  addConnectionOptions(
    program.command('logs <id>').description("print a job's build log").option('-f, --follow', 'keep printing as the build goes on, until it ends'),
  ).action(logsCommand);

  addConnectionOptions(program.command('cancel <id>').description('cancel an unfinished job')).action(async (id: string, o: { controller: string; token?: string }) => {
    const r = await clientFor(connection(o)).cancelJob(jobId(id));
    process.stdout.write(`job ${r.id}: ${r.status}${r.cancelRequested ? ' (the build client was asked to stop)' : ''}\n`);
  });

  addConnectionOptions(program.command('retry <id>').description('put a Failed, Cancelled or Blocked job back in the queue')).action(
    async (id: string, o: { controller: string; token?: string }) => {
      const r = await clientFor(connection(o)).retryJob(jobId(id));
      process.stdout.write(`job ${r.id}: ${r.status}\n`);
    },
  );
}
