// `npm run bench [-- section …]`: runs every section (or the named ones) and prints one table per
// section — each figure beside the floor measured in the same run, the ratio, the goal, and
// PASS/MISS. Speed lives here, never in tests. Tuning by environment:
//   BENCH_SECONDS (length of each controller run, default 5), BENCH_SEED (seeded submissions,
//   default 5000), BENCH_MESSAGES (raw AMQP round trips, default 500), BENCH_JOBS (dispatch
//   jobs, default 500), BENCH_WORKER_SECONDS (dispatch time box, default 90), BENCH_DIALECTS
//   (controller databases, default sqlite,postgres), BENCH_SECTION_TIMEOUT (seconds, default 1200),
//   BENCH_BUILDERS (idle builders per scan cycle, default 50), BENCH_FILE_MB (ensurepresent file,
//   default 150), BENCH_QUIET=1 (no progress on stderr). ui: BENCH_UI_JOBS (default 100000), BENCH_UI_LOG_MB (100),
//   BENCH_UI_RUNS (5), BENCH_UI_RATES (lines/s ladder), BENCH_UI_FOLLOW_SECONDS (5), BENCH_UI_CHUNK_MS (100).
import { Scope } from './lib/env';
import { formatTable, type SectionResult } from './lib/report';
import { controllerSection } from './sections/controller';
import { dispatchSection } from './sections/dispatch';
import { buildersSection } from './sections/builders';
import { workersSection } from './sections/workers';
import { uiSection } from './sections/ui';

function envNumber(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got '${v}'`);
  return n;
}

/** BENCH_DIALECTS=sqlite,postgres (default both). */
function dialects(): Array<'sqlite' | 'postgres'> {
  const v = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim()).filter(Boolean);
  const bad = v.filter((d) => d !== 'sqlite' && d !== 'postgres');
  if (bad.length || v.length === 0) throw new Error(`BENCH_DIALECTS: expected sqlite and/or postgres, got '${process.env.BENCH_DIALECTS}'`);
  return v as Array<'sqlite' | 'postgres'>;
}

interface Section {
  name: string;
  title: string;
  run(scope: Scope): Promise<SectionResult>;
}

const SECTIONS: Section[] = [
  {
    name: 'controller',
    title: 'controller: pyBit submissions (issue 3)',
    run: (scope) =>
      controllerSection(scope, {
        seconds: envNumber('BENCH_SECONDS', 5),
        seedPackages: envNumber('BENCH_SEED', 5000),
        dialects: dialects(),
      }),
  },
  {
    name: 'dispatch',
    title: 'dispatch: submit → claimed by a worker (issue 4)',
    run: (scope) =>
      dispatchSection(scope, {
        messages: envNumber('BENCH_MESSAGES', 500),
        jobs: envNumber('BENCH_JOBS', 500),
        workerSeconds: envNumber('BENCH_WORKER_SECONDS', 90),
      }),
  },
  {
    name: 'builders',
    title: 'builders: buildd-manager scans and the XML-RPC face (issue 5)',
    run: (scope) =>
      buildersSection(scope, {
        builders: envNumber('BENCH_BUILDERS', 50),
        cycles: 30,
        echoes: 500,
        fileMB: envNumber('BENCH_FILE_MB', 150),
        downloads: 3,
      }),
  },
  {
    name: 'workers',
    title: 'workers: no-op throughput, build overhead, cancel latency (issue 4)',
    run: (scope) =>
      workersSection(scope, {
        jobs: envNumber('BENCH_WORKER_JOBS', 200),
        buildRuns: envNumber('BENCH_BUILD_RUNS', 9),
        cancels: envNumber('BENCH_CANCELS', 10),
      }),
  },
  {
    name: 'ui',
    title: 'ui: the web UI in Chromium (issue 6)',
    run: (scope) =>
      uiSection(scope, {
        jobs: envNumber('BENCH_UI_JOBS', 100_000),
        logMegabytes: envNumber('BENCH_UI_LOG_MB', 100),
        runs: envNumber('BENCH_UI_RUNS', 5),
        rates: (process.env.BENCH_UI_RATES ?? '1000,2000,5000,10000,20000,40000,80000').split(',').map((r) => Number(r)).filter((r) => r > 0),
        followSeconds: envNumber('BENCH_UI_FOLLOW_SECONDS', 5),
        chunkMs: envNumber('BENCH_UI_CHUNK_MS', 100),
      }),
  },
];

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((a) => a !== '--');
  const unknown = wanted.filter((w) => !SECTIONS.some((s) => s.name === w));
  if (unknown.length) {
    process.stderr.write(`unknown section(s): ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const chosen = wanted.length ? SECTIONS.filter((s) => wanted.includes(s.name)) : SECTIONS;
  let failed = 0;
  const started = performance.now();
  for (const s of chosen) {
    const scope = new Scope();
    const t0 = performance.now();
    let out: string;
    // A hung section (a lost confirm, a stuck request) must end the bench with an error, with
    // its queues and schemas removed, rather than hang it.
    const limitMs = envNumber('BENCH_SECTION_TIMEOUT', 1200) * 1000;
    const watchdog = setTimeout(() => {
      process.stderr.write(`${s.name}: no result after ${limitMs / 1000} s; cleaning up and exiting\n`);
      const forced = setTimeout(() => process.exit(1), 15_000);
      forced.unref();
      void scope.cleanup().finally(() => process.exit(1));
    }, limitMs);
    watchdog.unref();
    try {
      const res = await s.run(scope);
      out = formatTable(s.title, res);
    } catch (e) {
      failed++;
      out = `== ${s.title} ==\nFAILED: ${(e as Error).stack ?? String(e)}`;
    } finally {
      clearTimeout(watchdog);
      await scope.cleanup().catch((e) => {
        failed++;
        process.stderr.write(`${s.name}: ${(e as Error).message}\n`);
      });
    }
    process.stdout.write(`${out}\n  (${((performance.now() - t0) / 1000).toFixed(1)} s)\n\n`);
  }
  process.stdout.write(`bench done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
