// Run later: a task enqueued with run_at or delay waits as `pending` (listed by
// ?status=scheduled, not counted in queue_size) and starts within 100 ms of its time, by a
// timer rather than the 2 s poll; also after a restart in between. Bad times are 400s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskDetail } from '@innominatus-queue/client';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import {
  getJson,
  postSpec,
  specYaml,
  startTestServer,
  TOKEN,
  type TestServer,
} from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const PRECISION_MS = 100;
let database: TestDatabase;
let node: TestServer;

beforeAll(async () => {
  database = await createTestDatabase({ persistent: true });
  node = await startTestServer(database);
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

const started = (taskId: string) =>
  waitFor(
    async () => {
      const task: TaskDetail = await node.client.task(taskId);
      return task.started_at ? task : undefined;
    },
    { what: `task ${taskId} to start`, timeoutMs: 10_000, intervalMs: 50 },
  );

function lateness(task: TaskDetail): number {
  return Date.parse(task.started_at!) - Date.parse(task.run_at);
}

describe('run later', () => {
  it('waits as a scheduled task and starts within 100 ms of run_at (REST ?delay=)', async () => {
    const { status, body } = await postSpec(node.url, specYaml('later-app', ['true']), {
      query: '?delay=1.2',
    });
    expect(status).toBe(202);
    const taskId = body.task_id as string;
    const scheduled = await getJson(node.url, '/api/queue/tasks?status=scheduled');
    expect(scheduled.body.tasks.map((t: { id: string }) => t.id)).toContain(taskId);
    const stats = await getJson(node.url, '/api/queue/stats');
    expect(stats.body.queue_size).toBe(0);
    const task = await started(taskId);
    expect(lateness(task)).toBeGreaterThanOrEqual(0);
    expect(lateness(task)).toBeLessThan(PRECISION_MS);
  });

  it('takes runAt over tRPC, and runs a time in the past at once', async () => {
    const runAt = new Date(Date.now() + 800).toISOString();
    const later = await node.client.enqueueSpec({
      spec: {
        apiVersion: 'score.dev/v1b1',
        metadata: { name: 'later-app' },
        containers: { web: { image: 'nginx' } },
        workflow: { steps: [{ name: 's', type: 'bash', config: { command: 'true' } }] },
      },
      runAt,
    });
    const past = await postSpec(node.url, specYaml('later-app', ['true']), {
      query: '?run_at=2001-01-01T00:00:00Z',
    });
    expect((await started(past.body.task_id as string)).status).not.toBe('pending');
    const task = await started(later.task_id);
    expect(task.run_at).toBe(runAt);
    expect(lateness(task)).toBeLessThan(PRECISION_MS);
  });

  it('keeps the time across a restart of the node', async () => {
    const { body } = await postSpec(node.url, specYaml('later-app', ['true']), {
      query: '?delay=3',
    });
    await node.stop();
    node = await startTestServer(database);
    const upAt = Date.now();
    const task = await started(body.task_id as string);
    // On time; or, had the restart outlasted the delay, at once on start-up.
    const due = Math.max(Date.parse(task.run_at), upAt);
    expect(Date.parse(task.started_at!) - due).toBeLessThan(PRECISION_MS);
    expect(lateness(task)).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['?run_at=2001-01-01T00:00:00Z&delay=5', 'delay'],
    ['?delay=40000000', 'delay'],
    [`?run_at=${new Date(Date.now() + 400 * 86_400_000).toISOString()}`, 'run_at'],
    ['?run_at=tomorrow', 'run_at'],
    ['?delay=-1', 'delay'],
  ])('refuses %s with a 400 naming %s', async (query, field) => {
    const { status, body } = await postSpec(node.url, specYaml('later-app', ['true']), {
      query,
      token: TOKEN,
    });
    expect(status).toBe(400);
    const error = body.error as { details?: { path: string }[] };
    expect(error.details?.map((d) => d.path)).toContain(field);
  });
});
