// 2. Enqueue throughput: 32 connections for 10 s against an API-only node, then a check that
// every accepted (2xx) enqueue is a row in queue_tasks.
import { runLoad } from '../lib/load.js';
import { AUTH_HEADER } from '../lib/serverProcess.js';
import { guideYaml, YAML_HEADERS } from '../lib/specs.js';
import { latencySummary } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';

const CONNECTIONS = 32;
const DURATION_S = 10;
const WARMUP_S = 2;

export const enqueueThroughput: Suite = {
  name: 'enqueue-throughput',
  title: `Enqueue throughput, ${CONNECTIONS} connections for ${DURATION_S} s`,
  async run({ databases, servers, metrics, runs, log }) {
    metrics.define({
      key: 'rps',
      label: 'accepted enqueues per second',
      unit: 'req/s',
      target: { op: '>=', value: 4_000 },
    });
    metrics.define({ key: 'p50', label: 'latency p50', unit: 'ms' });
    metrics.define({ key: 'p99', label: 'latency p99', unit: 'ms' });
    metrics.define({ key: 'non2xx', label: 'non-2xx responses and errors', unit: '' });
    metrics.define({
      key: 'missing',
      label: 'accepted (2xx) without a row',
      unit: '',
      target: { op: '<=', value: 0 },
    });
    // When the 10 s are up autocannon closes its connections with up to one request each in
    // flight: the server may have stored those tasks, but their 2xx was never read.
    metrics.define({
      key: 'unanswered',
      label: 'rows whose 2xx was not read (in flight at the stop)',
      unit: '',
      target: { op: '<=', value: CONNECTIONS },
    });
    // Rows of one INSERT share its transaction time: distinct enqueued_at values count the
    // statements (on PGlite, whose clock has 1 ms steps, an upper bound on rows per statement).
    metrics.define({ key: 'per-insert', label: 'INSERT statement size', unit: 'tasks' });
    metrics.note(
      `The guide's YAML (a distinct app name per run), API-only node, ${WARMUP_S} s warm-up first; rows counted per app name after the runs.`,
    );

    const db = await databases.create('enqueue_throughput');
    const server = await servers.start(db, { concurrency: 0, label: 'enqueue-throughput' });
    const load = (app: string, durationS: number) =>
      runLoad({
        url: `${server.url}/api/specs`,
        method: 'POST',
        headers: { ...AUTH_HEADER, ...YAML_HEADERS },
        body: guideYaml(app),
        connections: CONNECTIONS,
        durationS,
      });
    await load('tp-warmup', WARMUP_S);
    const accepted = new Map<string, number>();
    for (let run = 1; run <= runs; run++) {
      const app = `tp-run-${run}`;
      const result = await load(app, DURATION_S);
      accepted.set(app, result.ok);
      const l = latencySummary(result.latenciesMs);
      metrics.record('rps', result.okPerS);
      metrics.record('p50', l.p50);
      metrics.record('p99', l.p99);
      metrics.record('non2xx', result.non2xx + result.errors);
      log(
        `run ${run}: ${result.okPerS.toFixed(0)} req/s, p99 ${l.p99.toFixed(1)} ms, ${result.ok} accepted, status ${JSON.stringify(result.statusCounts)}, ${result.errors} errors`,
      );
    }
    // PGlite's files belong to the server while it runs: count once it has stopped.
    await server.stop();
    const rows = await db.query<{ app_name: string; n: number; stamps: number }>(
      `SELECT app_name, count(*)::int AS n, count(DISTINCT enqueued_at)::int AS stamps
       FROM queue_tasks WHERE app_name LIKE 'tp-run-%' GROUP BY app_name`,
    );
    const counted = new Map(rows.map((r) => [r.app_name, r.n]));
    for (const [app, ok] of accepted) {
      const n = counted.get(app) ?? 0;
      metrics.record('missing', Math.max(0, ok - n));
      metrics.record('unanswered', n - ok);
      const stamps = rows.find((r) => r.app_name === app)?.stamps ?? 0;
      metrics.record('per-insert', stamps > 0 ? n / stamps : Number.NaN);
      log(`${app}: ${ok} accepted, ${n} rows`);
    }
    metrics.details.accepted = Object.fromEntries(accepted);
    metrics.details.rows = Object.fromEntries(counted);
  },
};
