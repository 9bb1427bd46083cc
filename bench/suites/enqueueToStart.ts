// 4. Enqueue-to-start latency with idle workers: 200 empty-workflow tasks, one every 20 ms, to a
// node with 5 idle workers; started_at - enqueued_at from the table (database clock, µs). On
// PostgreSQL also across nodes: enqueued on an API-only node, woken by NOTIFY on a worker node.
import { getStats, postSpec, waitForStats } from '../lib/queueApi.js';
import type { BenchServer } from '../lib/serverProcess.js';
import { emptyWorkflowJson } from '../lib/specs.js';
import { latencySummary } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';

const TASKS = 200;
const SPACING_MS = 20;
const WARMUP = 20;

type Variant = 'same-node' | 'via-notify';

async function paced(url: string, app: string, count: number): Promise<void> {
  const body = emptyWorkflowJson(app);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + i * SPACING_MS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await postSpec(url, body);
  }
}

export const enqueueToStart: Suite = {
  name: 'enqueue-to-start',
  title: `Enqueue-to-start latency, idle workers, ${TASKS} tasks ${SPACING_MS} ms apart`,
  async run({ kind, databases, servers, metrics, runs, log }) {
    const variants: Variant[] = kind === 'postgres' ? ['same-node', 'via-notify'] : ['same-node'];
    for (const v of variants) {
      const name = v === 'same-node' ? 'one node (API + 5 workers)' : 'API node → worker node';
      metrics.define({
        key: `${v}-p50`,
        label: `${name} p50`,
        unit: 'ms',
        target: { op: '<=', value: 3 },
      });
      metrics.define({
        key: `${v}-p99`,
        label: `${name} p99`,
        unit: 'ms',
        target: { op: '<=', value: 8 },
      });
    }
    metrics.note(
      `started_at - enqueued_at, both set by the database (enqueued_at is the INSERT's transaction time). ${WARMUP} warm-up tasks per run.`,
    );

    if (kind === 'pglite') {
      metrics.note(
        "PGlite's clock (now(), clock_timestamp()) has millisecond resolution: these figures are quantised to 1 ms.",
      );
    }
    const db = await databases.create('enqueue_to_start');
    for (let run = 1; run <= runs; run++) {
      for (const v of variants) {
        const started: BenchServer[] = [];
        const worker = await servers.start(db, { concurrency: 5, label: 'e2s-worker' });
        started.push(worker);
        const api =
          v === 'same-node'
            ? worker
            : await servers.start(db, { concurrency: 0, label: 'e2s-api' });
        if (api !== worker) started.push(api);
        const before = (await getStats(api.url)).tasks_completed;
        await paced(api.url, `e2s-warmup`, WARMUP);
        const app = `e2s-${v}-r${run}`;
        await paced(api.url, app, TASKS);
        await waitForStats(api.url, (s) => s.tasks_completed >= before + WARMUP + TASKS, {
          timeoutMs: 60_000,
          what: `${TASKS} tasks to complete`,
        });
        for (const s of started) await s.stop();
        const rows = await db.query<{ ms: number }>(
          `SELECT extract(epoch FROM started_at - enqueued_at)::float8 * 1000 AS ms
           FROM queue_tasks WHERE app_name = $1 AND started_at IS NOT NULL`,
          [app],
        );
        if (rows.length !== TASKS) throw new Error(`${app}: ${rows.length} of ${TASKS} started`);
        const l = latencySummary(rows.map((r) => r.ms));
        metrics.record(`${v}-p50`, l.p50);
        metrics.record(`${v}-p99`, l.p99);
        log(
          `run ${run}, ${v}: p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(2)} ms`,
        );
      }
    }
  },
};
