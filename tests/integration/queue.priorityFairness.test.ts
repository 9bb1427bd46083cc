// Higher priority runs first (FIFO within a priority), and a per-application limit keeps one
// application's burst from taking every worker.
import { afterEach, describe, expect, it } from 'vitest';
import type { ScoreSpec } from '../../shared/spec.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { postSpec, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase | undefined;
let node: TestServer | undefined;
afterEach(async () => {
  await node?.stop();
  await database?.drop();
  node = undefined;
  database = undefined;
});

const spec = (name: string, command: string): ScoreSpec => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name },
  containers: { web: { image: 'nginx' } },
  workflow: { steps: [{ name: 'work', type: 'bash', config: { command } }] },
});

describe('priority', () => {
  it('runs higher priorities first and keeps FIFO within one', async () => {
    database = await createTestDatabase();
    node = await startTestServer(database, { QUEUE_CONCURRENCY: '1' });
    const { client } = node;
    const marker = `/tmp/queue-prio-${Date.now()}`;
    // The one worker is busy until the marker exists, so the others queue up.
    const blocker = await client.enqueueSpec({
      spec: spec('blocker', `while [ ! -e ${marker} ]; do sleep 0.05; done`),
    });
    await waitFor(async () => (await client.activeTasks()).count === 1, {
      what: 'the blocker to run',
    });
    const order = [
      ['low-1', -5],
      ['normal-1', 0],
      ['high-1', 10],
      ['normal-2', 0],
      ['high-2', 10],
    ] as const;
    const ids = new Map<string, string>();
    for (const [name, priority] of order) {
      ids.set(name, (await client.enqueueSpec({ spec: spec(name, 'true'), priority })).task_id);
    }
    // Over REST the priority is a query parameter.
    const rest = await postSpec(node.url, JSON.stringify(spec('rest-high', 'true')), {
      contentType: 'application/json',
      query: '?priority=20',
    });
    expect(rest.status).toBe(202);
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(marker, '');
    try {
      await waitFor(async () => (await client.queueStats()).tasks_completed === 7, {
        what: 'all tasks',
      });
    } finally {
      rmSync(marker, { force: true });
    }
    const rows = await node.server.services.database.query<{ app_name: string }>(
      'SELECT app_name FROM queue_tasks WHERE task_id <> $1 ORDER BY started_at, id',
      [blocker.task_id],
    );
    expect(rows.map((r) => r.app_name)).toEqual([
      'rest-high',
      'high-1',
      'high-2',
      'normal-1',
      'normal-2',
      'low-1',
    ]);
    const bad = await postSpec(node.url, JSON.stringify(spec('x', 'true')), {
      contentType: 'application/json',
      query: '?priority=high',
    });
    expect(bad.status).toBe(400);
  });
});

describe('per-application concurrency limit', () => {
  it("keeps one application's burst from occupying every worker", async () => {
    database = await createTestDatabase();
    node = await startTestServer(database, { QUEUE_CONCURRENCY: '5', APP_CONCURRENCY_LIMIT: '2' });
    const { client } = node;
    const marker = `/tmp/queue-fair-${Date.now()}`;
    const wait = `while [ ! -e ${marker} ]; do sleep 0.05; done`;
    for (let i = 0; i < 8; i++) await client.enqueueSpec({ spec: spec('bursty', wait) });
    await client.enqueueSpec({ spec: spec('quiet', wait) });
    await client.enqueueSpec({ spec: spec('other', wait) });
    const active = await waitFor(
      async () => {
        const list = await client.activeTasks();
        return list.count === 4 ? list : undefined;
      },
      { what: 'four running tasks' },
    );
    const perApp = (apps: string[]) =>
      apps.reduce<Record<string, number>>((m, a) => ({ ...m, [a]: (m[a] ?? 0) + 1 }), {});
    expect(perApp(active.tasks.map((t) => t.app_name))).toEqual({ bursty: 2, quiet: 1, other: 1 });
    // The fifth worker stays idle rather than run a third 'bursty' task.
    expect((await client.queueStats()).queue_size).toBe(6);
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(marker, '');
    try {
      await waitFor(async () => (await client.queueStats()).tasks_completed === 10, {
        what: 'the burst to drain',
      });
    } finally {
      rmSync(marker, { force: true });
    }
  });
});
