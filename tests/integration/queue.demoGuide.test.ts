// The demo guide's six queue tests, through a real server and database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import {
  getJson,
  postSpec,
  specYaml,
  startTestServer,
  type TestServer,
  GUIDE_STATS_FIELDS,
} from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase;
let node: TestServer;

beforeAll(async () => {
  database = await createTestDatabase({ persistent: true });
  node = await startTestServer(database, { SHUTDOWN_TIMEOUT: '3' });
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

async function taskRow(taskId: string) {
  const [row] = await node.server.services.database.query<Record<string, any>>(
    'SELECT * FROM queue_tasks WHERE task_id = $1',
    [taskId],
  );
  return row;
}

async function waitForStatus(taskId: string, statuses: string[], timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const row = await taskRow(taskId);
      return row && statuses.includes(row.status) ? row : undefined;
    },
    { timeoutMs, what: `task ${taskId} to reach ${statuses.join('|')}` },
  );
}

describe('the demo guide', () => {
  it('enqueues a workflow and processes it (EnqueueAndProcess)', async () => {
    const { status, body } = await postSpec(
      node.url,
      specYaml('demo-app', ['echo "Simulating workflow..."; echo "Complete!"']),
    );
    expect(status).toBe(202);
    expect(Object.keys(body).sort()).toEqual(['application', 'message', 'status', 'task_id']);
    expect(body).toMatchObject({
      message: "Golden path 'deploy-app' enqueued successfully",
      application: 'demo-app',
      status: 'enqueued',
    });
    expect(body.task_id).toMatch(/^task-\d{19}-\d+$/);

    const row = await waitForStatus(body.task_id as string, ['completed']);
    expect(row.workflow_name).toBe('golden-path-deploy-app');
    expect(row.app_name).toBe('demo-app');
    expect(row.metadata).toEqual({ source: 'api', user: 'api-user', role: 'admin' });
    expect(row.started_at.getTime()).toBeGreaterThanOrEqual(row.enqueued_at.getTime());
    expect(row.completed_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    expect(row.error_message).toBeNull();
    const steps = await node.server.services.database.query<Record<string, any>>(
      'SELECT * FROM queue_task_steps WHERE task_id = $1',
      [row.id],
    );
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ status: 'completed', exit_code: 0, name: 'step-1' });
    expect(steps[0]!.output).toBe('Simulating workflow...\nComplete!\n');
  });

  it('runs five workflows truly concurrently (MultipleWorkers)', async () => {
    const started = Date.now();
    const ids = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const { status, body } = await postSpec(node.url, specYaml(`parallel-${i}`, ['sleep 1']));
        expect(status).toBe(202);
        return body.task_id as string;
      }),
    );
    const active = await waitFor(
      async () => {
        const { body } = await getJson(node.url, '/api/queue/active-tasks');
        return body.count === 5 ? body : undefined;
      },
      { what: 'five active tasks' },
    );
    expect(active.tasks.map((t: { id: string }) => t.id).sort()).toEqual([...ids].sort());
    for (const id of ids) await waitForStatus(id, ['completed']);
    // Five one-second tasks one after another would take five seconds.
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('reports stats from the database (GetQueueStats)', async () => {
    const before = (await getJson(node.url, '/api/queue/stats')).body;
    const { body } = await postSpec(node.url, specYaml('stats-app', ['sleep 0.2']));
    await waitForStatus(body.task_id as string, ['completed']);
    const after = (await getJson(node.url, '/api/queue/stats')).body;
    expect(Object.keys(after).sort()).toEqual([...GUIDE_STATS_FIELDS]);
    for (const value of Object.values(after)) expect(Number.isInteger(value)).toBe(true);
    expect(after.tasks_enqueued).toBe(before.tasks_enqueued + 1);
    expect(after.tasks_completed).toBe(before.tasks_completed + 1);
    expect(after.workers).toBe(5);
    expect(after.active_tasks).toBe(0);
    expect(after.queue_size).toBe(0);
    expect(after.avg_execution_time_ms).toBeGreaterThan(0);

    // The averages are the guide's SQL over the table.
    const [sql] = await node.server.services.database.query<{
      exec: number;
      queue: number;
      total: number;
    }>(`
      SELECT round(AVG(EXTRACT(EPOCH FROM (completed_at - started_at)) * 1000) FILTER (WHERE completed_at IS NOT NULL))::float8 AS exec,
             round(AVG(EXTRACT(EPOCH FROM (started_at - enqueued_at)) * 1000) FILTER (WHERE started_at IS NOT NULL))::float8 AS queue,
             count(*)::float8 AS total FROM queue_tasks`);
    expect(after.tasks_enqueued).toBe(sql!.total);
    expect(Math.abs(after.avg_execution_time_ms - sql!.exec)).toBeLessThanOrEqual(1);
    expect(Math.abs(after.avg_queue_time_ms - sql!.queue)).toBeLessThanOrEqual(1);
  });

  it('records a failing workflow with the step, exit code and last stderr line (FailedExecution)', async () => {
    const before = (await getJson(node.url, '/api/queue/stats')).body;
    const { body } = await postSpec(
      node.url,
      specYaml('failing-app', [
        'echo fine',
        'echo "about to fail"; echo "disk full" >&2; exit 3',
        'echo never',
      ]),
    );
    const row = await waitForStatus(body.task_id as string, ['failed']);
    expect(row.error_message).toBe("step 'step-2' failed with exit code 3: disk full");
    expect(row.completed_at).not.toBeNull();
    const steps = await node.server.services.database.query<Record<string, any>>(
      'SELECT name, status, exit_code FROM queue_task_steps WHERE task_id = $1 ORDER BY position',
      [row.id],
    );
    // The first failure stops the workflow: step 3 never ran.
    expect(steps).toEqual([
      { name: 'step-1', status: 'completed', exit_code: 0 },
      { name: 'step-2', status: 'failed', exit_code: 3 },
    ]);
    const after = (await getJson(node.url, '/api/queue/stats')).body;
    expect(after.tasks_failed).toBe(before.tasks_failed + 1);
  });

  it('lists the running tasks with their metadata (GetActiveTasks)', async () => {
    const { body } = await postSpec(node.url, specYaml('active-app', ['sleep 30']));
    const active = await waitFor(
      async () => {
        const { body: list } = await getJson(node.url, '/api/queue/active-tasks');
        return list.count === 1 ? list : undefined;
      },
      { what: 'the task to be active' },
    );
    expect(active.tasks[0]).toMatchObject({
      id: body.task_id,
      app_name: 'active-app',
      workflow_name: 'golden-path-deploy-app',
      metadata: { source: 'api', user: 'api-user', role: 'admin' },
    });
    expect(new Date(active.tasks[0].enqueued_at).toISOString()).toBe(active.tasks[0].enqueued_at);
    const stats = (await getJson(node.url, '/api/queue/stats')).body;
    expect(stats.active_tasks).toBe(1);
    // Cleaned up by the next test's graceful stop.
  });

  it('stops gracefully, leaving no task running (StopGracefully)', async () => {
    const { body } = await postSpec(node.url, specYaml('short-app', ['sleep 0.5']));
    await waitForStatus(body.task_id as string, ['running', 'completed']);
    const stopped = Date.now();
    // The 30 s task from the previous test outlives SHUTDOWN_TIMEOUT (3 s) and is handed back.
    await node.stop();
    expect(Date.now() - stopped).toBeLessThan(20_000);
    const restarted = await startTestServer(database, { QUEUE_CONCURRENCY: '0' });
    try {
      const rows = await restarted.server.services.database.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM queue_tasks GROUP BY status',
      );
      expect(rows.find((r) => r.status === 'running')).toBeUndefined();
      const short = await restarted.server.services.database.query<{ status: string }>(
        'SELECT status FROM queue_tasks WHERE task_id = $1',
        [body.task_id],
      );
      expect(short[0]?.status).toBe('completed');
      const pending = await restarted.server.services.database.query<{
        app_name: string;
        attempts: number;
        used: number;
      }>(
        "SELECT app_name, attempts, attempts - attempt_base AS used FROM queue_tasks WHERE status = 'pending'",
      );
      // The interrupted task went back to the queue without using up an attempt (its attempt
      // number stays taken: the next run is attempt 2).
      expect(pending).toEqual([{ app_name: 'active-app', attempts: 1, used: 0 }]);
    } finally {
      await restarted.stop();
    }
  });
});
