// A burst of tasks into a table whose statistics say it is empty: a node with workers sees that
// the planner's estimate of the pending tasks is far below the count and analyzes queue_tasks, so
// the claim walks its index instead of reading and sorting the whole backlog each time.
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
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
