// 3. Processing throughput: 10,000 empty-workflow tasks are enqueued through an API-only node,
// which then stops; a worker node starts and drains them. Measured from the table (first
// started_at to last completed_at) and by the clock (worker spawn to the last completion seen).
import { enqueueMany, getStats, waitForStats } from '../lib/queueApi.js';
import { emptyWorkflowJson } from '../lib/specs.js';
import type { Suite } from '../lib/suite.js';

const TASKS = 10_000;
const CONCURRENCIES = [5, 20] as const;

interface Span {
  completed: number;
  other: number;
  span_s: number;
  claims: number;
  finishes: number;
}

export const processingThroughput: Suite = {
  name: 'processing-throughput',
  title: `Processing throughput, ${TASKS.toLocaleString('en-US')} queued empty-workflow tasks`,
  async run({ kind, databases, servers, metrics, runs, log }) {
    for (const c of CONCURRENCIES) {
      metrics.define({
        key: `c${c}-table`,
        label: `concurrency ${c}, first start to last completion`,
        unit: 'tasks/s',
        target: c === 5 ? { op: '>=', value: 2_500 } : undefined,
      });
      metrics.define({
        key: `c${c}-wall`,
        label: `concurrency ${c}, wall clock incl. node start-up`,
        unit: 'tasks/s',
      });
      // A claim stamps its tasks' started_at with its transaction time, a result write their
      // completed_at: distinct stamps count the statements.
      metrics.define({
        key: `c${c}-per-claim`,
        label: `concurrency ${c}, tasks per claim`,
        unit: '',
      });
      metrics.define({
        key: `c${c}-per-finish`,
        label: `concurrency ${c}, tasks per result write`,
        unit: '',
      });
    }
    metrics.note(
      'Wall clock runs from spawning the worker node to the stats showing every task completed (polled every 20 ms), so it includes the node start-up (~1 s).',
    );

    if (kind === 'pglite') {
      metrics.note(
        'PGlite: the node starts claiming before its HTTP server answers, and the in-process database keeps its one thread busy, so most of the drain happens during "start-up".',
      );
    }
    const db = await databases.create('processing');
    const details: Record<string, unknown>[] = [];
    for (let run = 1; run <= runs; run++) {
      for (const c of CONCURRENCIES) {
        const app = `drain-c${c}-r${run}`;
        const api = await servers.start(db, { concurrency: 0, label: 'processing-api' });
        const before = (await getStats(api.url)).tasks_completed;
        await enqueueMany(api.url, emptyWorkflowJson(app), TASKS, 32);
        await api.stop();

        const spawned = performance.now();
        const worker = await servers.start(db, { concurrency: c, label: `processing-c${c}` });
        await waitForStats(
          worker.url,
          (s) => s.tasks_completed >= before + TASKS && s.active_tasks === 0,
          { timeoutMs: 600_000, intervalMs: 20, what: `${TASKS} tasks to complete` },
        );
        const wallS = (performance.now() - spawned) / 1000;
        await worker.stop();

        const [row] = await db.query<Span>(
          `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
                  count(*) FILTER (WHERE status <> 'completed')::int AS other,
                  extract(epoch FROM max(completed_at) - min(started_at))::float8 AS span_s,
                  count(DISTINCT started_at)::int AS claims,
                  count(DISTINCT completed_at)::int AS finishes
           FROM queue_tasks WHERE app_name = $1`,
          [app],
        );
        if (!row || row.completed !== TASKS) {
          throw new Error(`${app}: ${row?.completed} of ${TASKS} completed, ${row?.other} not`);
        }
        const perS = TASKS / row.span_s;
        metrics.record(`c${c}-table`, perS);
        metrics.record(`c${c}-wall`, TASKS / wallS);
        metrics.record(`c${c}-per-claim`, TASKS / row.claims);
        metrics.record(`c${c}-per-finish`, TASKS / row.finishes);
        details.push({
          run,
          concurrency: c,
          spanS: row.span_s,
          wallS,
          startupMs: worker.startupMs,
        });
        log(
          `run ${run}, concurrency ${c}: ${perS.toFixed(0)} tasks/s in the table (${row.span_s.toFixed(2)} s), wall ${wallS.toFixed(2)} s (start-up ${worker.startupMs.toFixed(0)} ms), ${(TASKS / row.claims).toFixed(2)} tasks per claim, ${(TASKS / row.finishes).toFixed(2)} per result write`,
        );
      }
    }
    // Appended: with --interleave the suite is called once per round.
    metrics.details.runs = [...((metrics.details.runs as unknown[] | undefined) ?? []), ...details];
  },
};
