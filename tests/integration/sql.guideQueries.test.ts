// The demo guide's SQL (the Step 6 task history and the three monitoring queries) runs verbatim
// against our schema and gives true answers; on PostgreSQL also through psql itself.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/testDatabase.js';
import { postSpec, specYaml, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const TASK_HISTORY = `
SELECT task_id, app_name, workflow_name, status,
       enqueued_at, started_at, completed_at,
       EXTRACT(EPOCH FROM (completed_at - enqueued_at)) * 1000 as total_time_ms
FROM queue_tasks
ORDER BY enqueued_at DESC
LIMIT 5;`;

const QUEUE_HEALTH = `
-- Overall queue statistics
SELECT
    COUNT(*) FILTER (WHERE status = 'pending') as pending_tasks,
    COUNT(*) FILTER (WHERE status = 'running') as running_tasks,
    COUNT(*) FILTER (WHERE status = 'completed') as completed_tasks,
    COUNT(*) FILTER (WHERE status = 'failed') as failed_tasks,
    AVG(EXTRACT(EPOCH FROM (started_at - enqueued_at)) * 1000) FILTER (WHERE started_at IS NOT NULL) as avg_queue_time_ms,
    AVG(EXTRACT(EPOCH FROM (completed_at - started_at)) * 1000) FILTER (WHERE completed_at IS NOT NULL) as avg_execution_time_ms
FROM queue_tasks;`;

const RECENT_FAILURES = `
-- Recent failures
SELECT task_id, app_name, workflow_name, error_message, completed_at
FROM queue_tasks
WHERE status = 'failed'
ORDER BY completed_at DESC
LIMIT 10;`;

const LONG_RUNNING = `
-- Tasks running longer than 5 minutes
SELECT task_id, app_name, workflow_name,
       EXTRACT(EPOCH FROM (NOW() - started_at)) / 60 as runtime_minutes
FROM queue_tasks
WHERE status = 'running'
  AND started_at < NOW() - INTERVAL '5 minutes'
ORDER BY started_at ASC;`;

let database: TestDatabase;
let node: TestServer;
const ids: Record<string, string> = {};

beforeAll(async () => {
  database = await createTestDatabase();
  // The long task is handed back at once when the file ends.
  node = await startTestServer(database, { SHUTDOWN_TIMEOUT: '0' });
  for (const [name, command] of [
    ['ok-one', 'echo one'],
    ['ok-two', 'sleep 0.3'],
    ['broken', 'echo "no such image" >&2; exit 2'],
  ] as const) {
    const { body } = await postSpec(node.url, specYaml(name, [command]));
    ids[name] = body.task_id as string;
  }
  await waitFor(
    async () => {
      const rows = await node.server.services.database.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM queue_tasks WHERE status IN ('completed', 'failed')",
      );
      return rows[0]!.n === 3;
    },
    { what: 'the three tasks to finish' },
  );
  // One long-running task, started six minutes ago as far as the table knows.
  const { body } = await postSpec(node.url, specYaml('long-app', ['sleep 60']));
  ids['long-app'] = body.task_id as string;
  await waitFor(async () => (await node.client.activeTasks()).count === 1, {
    what: 'the long task to start',
  });
  await node.server.services.database.query(
    "UPDATE queue_tasks SET started_at = now() - interval '6 minutes', enqueued_at = now() - interval '6 minutes' WHERE task_id = $1",
    [ids['long-app']],
  );
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

const run = <T>(text: string) => node.server.services.database.query<T>(text);

describe("the demo guide's SQL", () => {
  it('Step 6: task history, newest first, with total times', async () => {
    const rows = await run<Record<string, any>>(TASK_HISTORY);
    expect(new Set(rows.map((r) => r.task_id))).toEqual(new Set(Object.values(ids)));
    const byApp = Object.fromEntries(rows.map((r) => [r.app_name, r]));
    expect(byApp['ok-two']).toMatchObject({
      status: 'completed',
      workflow_name: 'golden-path-deploy-app',
    });
    expect(Number(byApp['ok-two'].total_time_ms)).toBeGreaterThanOrEqual(300);
    expect(byApp.broken.status).toBe('failed');
    expect(byApp['long-app'].total_time_ms).toBeNull();
    // Newest first.
    const times = rows.map((r) => (r.enqueued_at as Date).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('Queue health dashboard: counts and averages', async () => {
    const [row] = await run<Record<string, any>>(QUEUE_HEALTH);
    expect(row).toMatchObject({
      pending_tasks: 0,
      running_tasks: 1,
      completed_tasks: 2,
      failed_tasks: 1,
    });
    expect(Number(row!.avg_queue_time_ms)).toBeGreaterThanOrEqual(0);
    expect(Number(row!.avg_execution_time_ms)).toBeGreaterThan(0);
  });

  it('Recent failures name the failing step', async () => {
    const rows = await run<Record<string, any>>(RECENT_FAILURES);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      task_id: ids.broken,
      app_name: 'broken',
      error_message: "step 'step-1' failed with exit code 2: no such image",
    });
  });

  it('Long-running tasks: the one started six minutes ago', async () => {
    const rows = await run<Record<string, any>>(LONG_RUNNING);
    expect(rows.map((r) => r.task_id)).toEqual([ids['long-app']]);
    expect(Number(rows[0]!.runtime_minutes)).toBeGreaterThanOrEqual(6);
  });

  it.skipIf(!onPostgres)('runs verbatim in psql', async () => {
    const exec = promisify(execFile);
    for (const query of [TASK_HISTORY, QUEUE_HEALTH, RECENT_FAILURES, LONG_RUNNING]) {
      const { stdout } = await exec('psql', [database.url!, '-v', 'ON_ERROR_STOP=1', '-c', query], {
        env: { PATH: process.env.PATH },
      });
      expect(stdout).toMatch(/\(\d+ rows?\)/);
    }
    const { stdout } = await exec('psql', [database.url!, '-At', '-c', RECENT_FAILURES], {
      env: { PATH: process.env.PATH },
    });
    expect(stdout).toContain("step 'step-1' failed with exit code 2: no such image");
  });
});
