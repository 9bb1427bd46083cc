// A burst of tasks into a table whose statistics say it is empty: a node with workers sees that
// the planner's estimate of the pending tasks is far below the count and analyzes queue_tasks, so
// the claim walks its index instead of reading and sorting the whole backlog each time.
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { QueueWorker } from '../../server/queue/worker.js';
import type { Queryable } from '../../server/db/database.js';
import { explainPlan } from '../../server/db/explainPlan.js';
import { CLAIM } from '../../server/queue/claimTasks.js';
import {
  ClaimStatistics,
  estimateIsStale,
  MIN_PENDING,
  readPendingEstimate,
} from '../../server/queue/claimStatistics.js';
import type { ScoreSpec } from '../../shared/spec.js';
import { useApiOnlyNode, useTestNode, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

// The comparison on its own, through an API-only node (no checks of its own to race with).
const api = useApiOnlyNode();

// Nudges and a worker's backlog, on a database of their own.
const nudged = useApiOnlyNode();

// A node with workers, on a database of its own.
const workers = useTestNode({ QUEUE_CONCURRENCY: '2' });
beforeAll(async () => {
  // Held back, so the burst stays pending while the test looks at the statistics.
  await workers.node.client.pauseQueue();
});

async function enqueue(on: TestServer, count: number): Promise<void> {
  const spec: ScoreSpec = {
    apiVersion: 'score.dev/v1b1',
    metadata: { name: 'burst-app' },
    containers: { web: { image: 'nginx' } },
    workflow: { steps: [] },
  };
  for (let done = 0; done < count; done += 1_000) {
    const specs = Array.from({ length: Math.min(1_000, count - done) }, () => ({ spec }));
    await on.client.enqueueSpecs({ specs });
  }
}

async function claimSorts(db: Queryable): Promise<boolean> {
  const nodes = await explainPlan(db, CLAIM, ['plan-test-node', 5, 30_000]);
  return nodes.some((n) => n['Node Type'] === 'Sort');
}

describe('claim statistics', () => {
  it('analyzes queue_tasks when its estimate of the pending tasks is far below the count', async () => {
    // Autovacuum must not analyze it first (it visits each database every few seconds here).
    await api.db.query('ALTER TABLE queue_tasks SET (autovacuum_enabled = false)');
    await api.db.query('ANALYZE queue_tasks');
    const checker = new ClaimStatistics(api.db, pino({ level: 'silent' }));

    // A small backlog: any plan is quick, nothing to do.
    await enqueue(api.node, MIN_PENDING - 1);
    expect(await checker.checkOnce()).toBe(false);

    await enqueue(api.node, 2_000);
    const stale = await readPendingEstimate(api.db);
    expect(stale.pending).toBe(MIN_PENDING - 1 + 2_000);
    expect(estimateIsStale(stale)).toBe(true);
    // With the empty table's statistics, every claim would read and sort the whole backlog.
    expect(await claimSorts(api.db)).toBe(true);

    expect(await checker.checkOnce()).toBe(true);
    const fresh = await readPendingEstimate(api.db);
    expect(estimateIsStale(fresh)).toBe(false);
    expect(await claimSorts(api.db)).toBe(false);
    // Once is enough.
    expect(await checker.checkOnce()).toBe(false);
  });

  it('is done by a node with workers on its own', async () => {
    await workers.db.query('ANALYZE queue_tasks');
    await enqueue(workers.node, 3_000);
    await waitFor(
      async () => {
        const estimate = await readPendingEstimate(workers.db);
        return estimate.pending >= 3_000 && !estimateIsStale(estimate);
      },
      { what: 'the node to analyze queue_tasks', timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(workers.node.logs().some((l) => String(l.msg).startsWith('analyzed queue_tasks'))).toBe(
      true,
    );
  });
});

describe('a backlog asks for the comparison at once', () => {
  it('compares when nudged, unless a comparison runs or ran within the gap', async () => {
    await nudged.db.query('ALTER TABLE queue_tasks SET (autovacuum_enabled = false)');
    await nudged.db.query('ANALYZE queue_tasks');
    await enqueue(nudged.node, 2_000);
    expect(estimateIsStale(await readPendingEstimate(nudged.db))).toBe(true);
    // The periodic check is not started: only nudges compare here.
    const checker = new ClaimStatistics(nudged.db, pino({ level: 'silent' }), 600_000, 600_000);
    const first = checker.nudge();
    expect(first).toBeDefined();
    // One at a time, and none again within the gap.
    expect(checker.nudge()).toBeUndefined();
    expect(await first).toBe(true);
    expect(estimateIsStale(await readPendingEstimate(nudged.db))).toBe(false);
    expect(checker.nudge()).toBeUndefined();
    // Without a gap it compares again (nothing to do now), and never after stop().
    const eager = new ClaimStatistics(nudged.db, pino({ level: 'silent' }), 600_000, 0);
    expect(await eager.nudge()).toBe(false);
    expect(await eager.nudge()).toBe(false);
    await eager.stop();
    expect(eager.nudge()).toBeUndefined();
    await checker.stop();
  });

  it('is what a worker whose claims come back full asks for', async () => {
    await nudged.db.query(`DELETE FROM queue_tasks WHERE status IN ('pending', 'running')`);
    let backlogs = 0;
    const worker = new QueueWorker({
      database: nudged.db,
      nodeId: `backlog-${Date.now()}`,
      concurrency: 2,
      prefetch: 0,
      leaseMs: 10_000,
      heartbeatMs: 200,
      recoveryIntervalMs: 60_000,
      pollIntervalMs: 50,
      maxLost: 3,
      appLimit: 0,
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
      logger: pino({ level: 'silent' }),
      run: () => new Promise((resolve) => setImmediate(() => resolve({ kind: 'completed' }))),
      onBacklog: () => (backlogs += 1),
    });
    const completed = async () =>
      (
        await nudged.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM queue_tasks WHERE status = 'completed'`,
        )
      )[0]!.n;
    const before = await completed();
    try {
      await worker.start();
      // One task for two free slots: no claim comes back full, however often it polls.
      await enqueue(nudged.node, 1);
      await waitFor(async () => (await completed()) === before + 1, {
        what: 'the one task to complete',
      });
      expect(backlogs).toBe(0);
      // Twenty: the claims for two slots come back full until the last ones.
      await enqueue(nudged.node, 20);
      await waitFor(async () => (await completed()) === before + 21, {
        what: 'the twenty tasks to complete',
      });
      expect(backlogs).toBeGreaterThan(0);
    } finally {
      await worker.stop(1_000);
    }
  });
});
