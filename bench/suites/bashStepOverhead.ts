// 7. Bash step overhead: tasks whose workflow is a single `true` step, run at concurrency 5;
// claim to completion (completed_at - started_at) from the table, split with the step's own row
// into claim → step start, the step (spawn, run, record), and step end → task completion.
import { enqueueMany, getStats, waitForStats } from '../lib/queueApi.js';
import { trueStepJson } from '../lib/specs.js';
import { latencySummary } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';

const TASKS = 200;
const WARMUP = 20;
const CONCURRENCY = 5;

interface Row {
  status: string;
  total_ms: number;
  to_step_ms: number;
  step_ms: number;
  after_ms: number;
}

const TIMINGS = `
SELECT t.status,
       extract(epoch FROM t.completed_at - t.started_at)::float8 * 1000 AS total_ms,
       extract(epoch FROM s.started_at - t.started_at)::float8 * 1000 AS to_step_ms,
       extract(epoch FROM s.finished_at - s.started_at)::float8 * 1000 AS step_ms,
       extract(epoch FROM t.completed_at - s.finished_at)::float8 * 1000 AS after_ms
FROM queue_tasks t
JOIN queue_task_steps s ON s.task_id = t.id AND s.attempt = t.attempts AND s.position = 0
WHERE t.app_name = $1`;

export const bashStepOverhead: Suite = {
  name: 'bash-step',
  title: `Bash step overhead, ${TASKS} one-step \`true\` tasks at concurrency ${CONCURRENCY}`,
  async run({ kind, databases, servers, metrics, runs, log }) {
    metrics.define({ key: 'p50', label: 'claim → completion p50', unit: 'ms' });
    metrics.define({ key: 'p95', label: 'claim → completion p95', unit: 'ms' });
    metrics.define({ key: 'to-step-p50', label: 'part: claim → step start p50', unit: 'ms' });
    metrics.define({ key: 'step-p50', label: 'part: step start → step end p50', unit: 'ms' });
    metrics.define({ key: 'after-p50', label: 'part: step end → task completed p50', unit: 'ms' });
    metrics.note(
      `The ${TASKS} tasks are enqueued in a burst (4 connections) to a node with ${CONCURRENCY} workers; ${WARMUP} warm-up tasks per run. Step times are from queue_task_steps (database clock).`,
    );

    if (kind === 'pglite') {
      metrics.note(
        "PGlite's clock (now(), clock_timestamp()) has millisecond resolution: these figures are quantised to 1 ms.",
      );
    }
    const db = await databases.create('bash_step');
    for (let run = 1; run <= runs; run++) {
      const server = await servers.start(db, { concurrency: CONCURRENCY, label: 'bash-step' });
      const before = (await getStats(server.url)).tasks_completed;
      await enqueueMany(server.url, trueStepJson('bash-warmup'), WARMUP, 4);
      const app = `bash-r${run}`;
      await enqueueMany(server.url, trueStepJson(app), TASKS, 4);
      await waitForStats(server.url, (s) => s.tasks_completed >= before + WARMUP + TASKS, {
        timeoutMs: 120_000,
        what: `${TASKS} tasks to complete`,
      });
      await server.stop();
      const rows = await db.query<Row>(TIMINGS, [app]);
      const failed = rows.filter((r) => r.status !== 'completed');
      if (rows.length !== TASKS || failed.length > 0) {
        throw new Error(`${app}: ${rows.length} rows, ${failed.length} not completed`);
      }
      const total = latencySummary(rows.map((r) => r.total_ms));
      metrics.record('p50', total.p50);
      metrics.record('p95', total.p95);
      metrics.record('to-step-p50', latencySummary(rows.map((r) => r.to_step_ms)).p50);
      metrics.record('step-p50', latencySummary(rows.map((r) => r.step_ms)).p50);
      metrics.record('after-p50', latencySummary(rows.map((r) => r.after_ms)).p50);
      log(
        `run ${run}: claim → completion p50 ${total.p50.toFixed(2)} ms, p95 ${total.p95.toFixed(2)} ms`,
      );
    }
  },
};
