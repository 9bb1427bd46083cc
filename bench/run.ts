// `npm run bench [-- --runs 3 --only enqueue-latency,memory]`: runs the benchmark suites against
// servers started from dist/ on PostgreSQL (BENCH_DATABASE_URL) or PGlite, prints the figures
// (median of the runs, with min and max) and writes them to bench/results/.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeSource, ensureBuilt } from './lib/build.js';
import {
  formatProfileSummary,
  summariseProfileFile,
  type ProfileSummary,
} from './lib/cpuProfile.js';
import { createDatabaseFactory } from './lib/database.js';
import { describeMachine } from './lib/machine.js';
import { createServerLauncher } from './lib/serverProcess.js';
import { MetricRecorder, type Suite, type SuiteResult, type SuiteSettings } from './lib/suite.js';
import { markdownTable, textTable } from './lib/table.js';
import { computeRatios, ratiosMarkdown, ratiosText } from './lib/ratios.js';
import { bashFloor } from './suites/bashFloor.js';
import { batchEnqueue } from './suites/batchEnqueue.js';
import { bashStepOverhead } from './suites/bashStepOverhead.js';
import { enqueueLatency } from './suites/enqueueLatency.js';
import { enqueueThroughput } from './suites/enqueueThroughput.js';
import { enqueueToStart } from './suites/enqueueToStart.js';
import { memory } from './suites/memory.js';
import { peers } from './suites/peers.js';
import { processingThroughput } from './suites/processingThroughput.js';
import { statsCost } from './suites/statsCost.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = path.join(ROOT, 'bench/results');

const SUITES: Suite[] = [
  enqueueLatency,
  enqueueThroughput,
  processingThroughput,
  enqueueToStart,
  statsCost,
  memory,
  bashStepOverhead,
  batchEnqueue,
  bashFloor,
  peers,
];

const USAGE = `Usage: npm run bench -- [options]

  --runs N                 repeat each measurement N times (default 3)
  --interleave             run the suites in rounds, one run of each per round, instead of
                           all runs of one suite before the next: a machine whose speed drifts
                           during the benchmark then moves ours and the peers' figures alike
  --only a,b               run only these suites (see --list)
  --list                   list the suites and exit
  --build                  rebuild dist/ first (it is built anyway when missing)
  --profile                run the servers with --cpu-prof and summarise the profiles
  --sizes 10000,100000     finished-task counts for stats-cost (default 10000,100000,1000000)
  --pglite-max-insert-s S  on PGlite, skip a stats-cost size whose insert is projected
                           to take longer than S seconds (default 240)
  --no-fsync               skip pg_test_fsync in the machine description
  --server-dir DIR         benchmark the dist/server/index.js of another checkout (A/B
                           comparisons of a change); default: this one

Environment: BENCH_DATABASE_URL=postgres://user@host:port/db benchmarks PostgreSQL (a fresh
database per suite is created on that server and dropped afterwards); without it, PGlite
(a fresh data directory per suite).`;

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      list: { type: 'boolean', default: false },
      build: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      sizes: { type: 'string', default: '10000,100000,1000000' },
      'pglite-max-insert-s': { type: 'string', default: '240' },
      'no-fsync': { type: 'boolean', default: false },
      interleave: { type: 'boolean', default: false },
      'server-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number ≥ 1');
  const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error('--sizes must be whole numbers ≥ 1, comma-separated');
  }
  const maxInsert = Number(values['pglite-max-insert-s']);
  if (!(maxInsert > 0)) throw new Error('--pglite-max-insert-s must be a number of seconds');
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((name) => !SUITES.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `unknown suite ${unknown.join(', ')}; known: ${SUITES.map((s) => s.name).join(', ')}`,
    );
  }
  const settings: SuiteSettings = { statsSizes: sizes, pgliteMaxInsertS: maxInsert };
  return { ...values, runs, only, settings };
}

async function main(): Promise<number> {
  const options = parseOptions();
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.list) {
    for (const s of SUITES) console.log(`${s.name.padEnd(22)} ${s.title}`);
    return 0;
  }
  const suites = SUITES.filter((s) => !options.only || options.only.includes(s.name));
  const adminUrl = process.env.BENCH_DATABASE_URL?.trim() || undefined;
  const databases = createDatabaseFactory(adminUrl);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const profileDir = options.profile
    ? path.join(RESULTS_DIR, 'profiles', `${stamp}-${databases.kind}`)
    : undefined;
  const serverRoot = path.resolve(options['server-dir'] ?? ROOT);
  const servers = createServerLauncher({ root: serverRoot, profileDir });

  // Ctrl-C or a kill: stop the servers and drop the databases before leaving.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping servers and dropping databases…`);
    void servers
      .stopAll()
      .then(() => databases.dropAll())
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const warnings: string[] = [];
  const buildWarning = await ensureBuilt(serverRoot, { force: options.build, log });
  if (buildWarning) {
    warnings.push(buildWarning);
    log(`warning: ${buildWarning}`);
  }
  log(`describing the machine${options['no-fsync'] ? '' : ' (pg_test_fsync takes ~16 s)'}…`);
  const machine = await describeMachine({
    root: ROOT,
    postgresUrl: adminUrl,
    measureFsync: !options['no-fsync'],
  });
  log(
    `${databases.kind === 'postgres' ? `PostgreSQL ${machine.postgres}` : `PGlite ${machine.pglite}`}, ${options.runs} run(s), suites: ${suites.map((s) => s.name).join(', ')}`,
  );

  const source = await describeSource(serverRoot);
  if (source && source.uncommitted.length > 0) {
    log(`note: ${source.uncommitted.length} uncommitted change(s) under server/ or shared/`);
  }

  // One recorder per suite for all its runs; with --interleave, each round runs every suite once.
  const states = suites.map((suite) => ({
    suite,
    metrics: new MetricRecorder(),
    durationS: 0,
    error: undefined as string | undefined,
  }));
  const rounds = options.interleave ? options.runs : 1;
  const runsPerCall = options.interleave ? 1 : options.runs;
  for (let round = 1; round <= rounds; round++) {
    for (const state of states) {
      if (interrupted || state.error) continue;
      const { suite, metrics } = state;
      const label = rounds > 1 ? `${suite.name} (round ${round}/${rounds})` : suite.name;
      log(`— ${label}: ${suite.title}`);
      const started = performance.now();
      try {
        await suite.run({
          kind: databases.kind,
          runs: runsPerCall,
          databases,
          servers,
          metrics,
          log: (m) => log(`  ${label}: ${m}`),
          settings: options.settings,
        });
      } catch (e) {
        state.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
        log(`  ${label} FAILED: ${state.error}`);
      } finally {
        await servers.stopAll();
        await databases.dropAll();
      }
      const problems = servers.takeProblems();
      if (problems.length > 0) {
        metrics.note(`The servers logged ${problems.length} warning/error line(s); see the JSON.`);
        const earlier = (metrics.details.serverProblems as unknown[] | undefined) ?? [];
        metrics.details.serverProblems = [...earlier, ...problems].slice(0, 20);
      }
      const durationS = (performance.now() - started) / 1000;
      state.durationS += durationS;
      log(`  ${label} took ${durationS.toFixed(0)} s`);
    }
  }
  const results: SuiteResult[] = states.map(({ suite, metrics, durationS, error }) => ({
    name: suite.name,
    title: suite.title,
    durationS,
    metrics: metrics.results(),
    notes: metrics.notes,
    details: metrics.details,
    ...(error ? { error } : {}),
  }));

  let profiles: ProfileSummary[] = [];
  if (profileDir) profiles = await summariseProfiles(profileDir);

  const heading = `${databases.kind === 'postgres' ? `PostgreSQL ${machine.postgres}` : `PGlite ${machine.pglite}`} — ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; median of ${options.runs} run(s)`;
  console.log(`\n${heading}\n`);
  console.log(textTable(results));
  for (const r of results) {
    for (const note of r.notes) console.log(`  ${r.name}: ${note}`);
  }
  const ratios = computeRatios(results);
  console.log(`\nRatios (issue 13), from this run:\n\n${ratiosText(ratios)}`);
  for (const w of warnings) console.log(`warning: ${w}`);
  for (const p of profiles) console.log(`\n${formatProfileSummary(p)}`);

  await fs.mkdir(RESULTS_DIR, { recursive: true });
  const base = path.join(RESULTS_DIR, `${stamp}-${databases.kind}`);
  const record = {
    startedAt: stamp,
    server: path.join(serverRoot, 'dist/server/index.js'),
    source,
    database: databases.kind,
    runs: options.runs,
    interleaved: options.interleave,
    settings: options.settings,
    machine,
    /** How busy the machine was at the end (1, 5 and 15 minute load averages). */
    loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
    warnings,
    suites: results,
    ratios,
    profiles,
  };
  await fs.writeFile(`${base}.json`, `${JSON.stringify(record, null, 2)}\n`);
  await fs.writeFile(
    `${base}.md`,
    `${heading}\n\n${markdownTable(results)}\n\n${ratiosMarkdown(ratios)}\n`,
  );
  console.log(`\nraw results: ${path.relative(ROOT, base)}.json (Markdown table: .md)`);
  if (interrupted) return 130;
  return results.some((r) => r.error) ? 1 : 0;
}

async function summariseProfiles(dir: string): Promise<ProfileSummary[]> {
  const files = (await fs.readdir(dir, { recursive: true }))
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const out: ProfileSummary[] = [];
  for (const f of files) {
    out.push(await summariseProfileFile(path.join(dir, f), { root: ROOT, top: 20 }));
  }
  return out;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
