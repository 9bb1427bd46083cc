// 5. The cost of GET /api/queue/stats and GET /api/queue/active-tasks with 10k, 100k and 1M
// finished tasks in queue_tasks. The rows are added with one INSERT … SELECT generate_series per
// size (through the counters' statement trigger), then VACUUM ANALYZE, as autovacuum would have
// done on a table that grew over time; a light load (2 connections) then gives the p95.
import type { BenchDatabase } from '../lib/database.js';
import { getStats } from '../lib/queueApi.js';
import { runLoad } from '../lib/load.js';
import type { BenchServer } from '../lib/serverProcess.js';
import { guideSpec } from '../lib/specs.js';
import { latencySummary } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';

const CONNECTIONS = 2;
const DURATION_S = 3;

// Plausible history: one task every 2 s over the past weeks, queued 1–20 ms, run 50 ms–5 s.
const INSERT = `
INSERT INTO queue_tasks (task_id, app_name, workflow_name, golden_path, status, spec, steps,
                         metadata, created_by, attempts, run_at, enqueued_at, started_at,
                         completed_at)
SELECT 'task-bench-' || g, 'bench-app-' || (g % 100), 'golden-path-deploy-app', 'deploy-app',
       'completed', $3::jsonb, $4::jsonb, '{"source": "api", "user": "bench"}'::jsonb, 'bench', 1,
       t.e, t.e, t.e + (1 + g % 20) * interval '1 millisecond',
       t.e + (1 + g % 20) * interval '1 millisecond' + (50 + g % 4950) * interval '1 millisecond'
FROM generate_series($1::int, $2::int) AS g,
     LATERAL (SELECT now() - interval '30 days' + g * interval '2 seconds') AS t(e)`;

const ENDPOINTS = [
  { key: 'stats', path: '/api/queue/stats' },
  { key: 'active', path: '/api/queue/active-tasks' },
] as const;

function sizeLabel(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n);
}

async function addRows(db: BenchDatabase, from: number, to: number): Promise<number> {
  const spec = guideSpec();
  const started = performance.now();
  await db.query(INSERT, [
    from,
    to,
    JSON.stringify(spec),
    JSON.stringify(spec.workflow?.steps ?? []),
  ]);
  const insertS = (performance.now() - started) / 1000;
  await db.query('VACUUM ANALYZE queue_tasks');
  return insertS;
}

export const statsCost: Suite = {
  name: 'stats-cost',
  title: 'Stats and active-tasks cost with a large history',
  async run(ctx: SuiteContext) {
    const { kind, databases, servers, metrics, runs, log, settings } = ctx;
    const sizes = [...settings.statsSizes].sort((a, b) => a - b);
    for (const size of sizes) {
      for (const e of ENDPOINTS) {
        metrics.define({
          key: `${e.key}-${size}`,
          label: `GET ${e.path} p95, ${sizeLabel(size)} rows`,
          unit: 'ms',
          target: { op: '<=', value: 10 },
        });
      }
    }
    metrics.note(
      `${CONNECTIONS} connections for ${DURATION_S} s per endpoint, size and run (autocannon); API-only node.`,
    );

    const db = await databases.create('stats_cost');
    let server: BenchServer | undefined = await servers.start(db, {
      concurrency: 0,
      label: 'stats-cost',
    });
    let inserted = 0;
    let lastRate: number | undefined; // seconds per row of the previous insert
    const measured: number[] = [];
    const inserts: Record<string, number> = {};
    for (const size of sizes) {
      const adding = size - inserted;
      if (kind === 'pglite' && lastRate !== undefined) {
        const projected = lastRate * adding;
        if (projected > settings.pgliteMaxInsertS) {
          metrics.note(
            `PGlite: ${sizeLabel(size)} rows skipped: inserting ${adding.toLocaleString('en-US')} more rows was projected to take ${projected.toFixed(0)} s (limit ${settings.pgliteMaxInsertS} s, --pglite-max-insert-s).`,
          );
          log(`skipping ${sizeLabel(size)}: projected insert ${projected.toFixed(0)} s`);
          continue;
        }
      }
      // PGlite: the bench writes the files itself, so the server steps aside meanwhile.
      if (kind === 'pglite' && server) {
        await server.stop();
        server = undefined;
      }
      log(`inserting ${adding.toLocaleString('en-US')} finished tasks…`);
      const insertS = await addRows(db, inserted + 1, size);
      inserts[sizeLabel(size)] = insertS;
      lastRate = insertS / adding;
      inserted = size;
      log(`${sizeLabel(size)} rows: insert took ${insertS.toFixed(1)} s`);
      if (!server) {
        await db.release();
        server = await servers.start(db, { concurrency: 0, label: 'stats-cost' });
      }
      const stats = await getStats(server.url);
      if (stats.tasks_completed !== size) {
        throw new Error(
          `stats say ${stats.tasks_completed} completed tasks; the table has ${size}`,
        );
      }
      for (const e of ENDPOINTS) {
        await runLoad({ url: `${server.url}${e.path}`, connections: CONNECTIONS, durationS: 1 });
      }
      for (let run = 1; run <= runs; run++) {
        const line: string[] = [];
        for (const e of ENDPOINTS) {
          const result = await runLoad({
            url: `${server.url}${e.path}`,
            connections: CONNECTIONS,
            durationS: DURATION_S,
          });
          if (result.non2xx > 0 || result.errors > 0) {
            throw new Error(`GET ${e.path}: ${JSON.stringify(result.statusCounts)}`);
          }
          const l = latencySummary(result.latenciesMs);
          metrics.record(`${e.key}-${size}`, l.p95);
          line.push(`${e.key} p95 ${l.p95.toFixed(2)} ms (${result.okPerS.toFixed(0)} req/s)`);
        }
        log(`${sizeLabel(size)}, run ${run}: ${line.join(', ')}`);
      }
      measured.push(size);
    }
    await server?.stop();
    metrics.details.insertSeconds = inserts;
    metrics.details.sizesMeasured = measured;
    // "Not growing with the table": the p95 at the largest size over the p95 at the smallest.
    if (measured.length >= 2) {
      const small = measured[0]!;
      const large = measured.at(-1)!;
      for (const e of ENDPOINTS) {
        const key = `${e.key}-growth`;
        metrics.define({
          key,
          label: `GET ${e.path} p95 at ${sizeLabel(large)} ÷ p95 at ${sizeLabel(small)}`,
          unit: '×',
          target: { op: '<=', value: 1.5 },
        });
        const a = metrics.values(`${e.key}-${small}`);
        const b = metrics.values(`${e.key}-${large}`);
        b.forEach((value, i) => metrics.record(key, value / a[i]!));
      }
    }
  },
};
