// GET /metrics in Prometheus text format: task counters, cluster-wide gauges, histograms of
// wait, execution, step and HTTP durations, default process metrics; bounded labels. And task
// lifecycle log lines carry the task id and the node id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScoreSpec } from '../../shared/spec.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase;
let node: TestServer;

const spec = (name: string, command: string): ScoreSpec => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name },
  containers: { web: { image: 'nginx' } },
  workflow: { steps: [{ name: 'work', type: 'bash', config: { command } }] },
});

async function scrape(): Promise<{ text: string; value: (name: string) => number }> {
  const response = await fetch(`${node.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const text = await response.text();
  return {
    text,
    value: (series) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : NaN;
    },
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  node = await startTestServer(database, { QUEUE_CONCURRENCY: '1' });
  const { client } = node;
  const ok = await client.enqueueSpec({ spec: spec('metrics-ok', 'echo fine') });
  const bad = await client.enqueueSpec({ spec: spec('metrics-bad', 'exit 3') });
  await waitFor(
    async () =>
      (await client.queueStats()).tasks_completed + (await client.queueStats()).tasks_failed === 2,
    {
      what: 'two finished tasks',
    },
  );
  await client.retryTask(bad.task_id);
  // Keep the single worker busy so the next task stays pending, then cancel it.
  const marker = `/tmp/queue-metrics-${Date.now()}`;
  await client.enqueueSpec({
    spec: spec('metrics-busy', `while [ ! -e ${marker} ]; do sleep 0.05; done`),
  });
  await waitFor(
    async () => (await client.activeTasks()).tasks.some((t) => t.app_name === 'metrics-busy'),
    {
      what: 'the busy task to run',
    },
  );
  const waiting = await client.enqueueSpec({ spec: spec('metrics-waiting', 'true') });
  await client.cancelTask(waiting.task_id);
  const { writeFileSync, rmSync } = await import('node:fs');
  writeFileSync(marker, '');
  await waitFor(
    async () =>
      (await client.queueStats()).active_tasks === 0 &&
      (await client.queueStats()).queue_size === 0,
    {
      what: 'the queue to be quiet',
    },
  );
  rmSync(marker, { force: true });
  expect(ok.task_id).toBeDefined();
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

describe('GET /metrics', () => {
  it('counts tasks by what happened to them', async () => {
    const { value } = await scrape();
    expect(value('queue_tasks_enqueued_total{source="trpc"}')).toBe(4);
    expect(value('queue_tasks_completed_total')).toBe(2);
    // The failing task failed twice: once before the manual retry, once after.
    expect(value('queue_tasks_failed_total')).toBe(2);
    expect(value('queue_tasks_cancelled_total')).toBe(1);
    expect(value('queue_tasks_retried_total{reason="manual"}')).toBe(1);
    expect(value('queue_tasks_recovered_total')).toBe(0);
  });

  it('reports the cluster-wide gauges and the duration histograms', async () => {
    const { value } = await scrape();
    expect(value('queue_size')).toBe(0);
    expect(value('queue_active_tasks')).toBe(0);
    expect(value('queue_workers')).toBe(1);
    expect(value('queue_task_wait_seconds_count')).toBe(4);
    expect(value('queue_task_execution_seconds_count{status="completed"}')).toBe(2);
    expect(value('queue_step_duration_seconds_count{type="bash",status="failed"}')).toBe(2);
    expect(
      value(
        'http_request_duration_seconds_count{method="POST",route="/trpc/:path",status_code="200"}',
      ),
    ).toBeGreaterThanOrEqual(6);
    expect(value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('keeps label sets bounded: no task ids in any label', async () => {
    const { text } = await scrape();
    expect(text).not.toMatch(/task-\d{19}/);
    // A request to an unknown path is one series, whatever the path.
    await fetch(`${node.url}/no/such/path/${Date.now()}`);
    const after = await scrape();
    expect(after.text).toContain('route="(unmatched)"');
    expect(after.text).not.toContain('/no/such/path');
  });
});

describe('logs', () => {
  it('task lifecycle lines carry the task id and the node id', () => {
    const started = node.logs().filter((l) => l.msg === 'task started');
    expect(started.length).toBeGreaterThanOrEqual(4);
    for (const line of started) {
      expect(line.taskId).toMatch(/^task-/);
      expect(line.nodeId).toBe(node.server.nodeId);
    }
    expect(
      node.logs().some((l) => l.msg === 'task completed' && l.nodeId === node.server.nodeId),
    ).toBe(true);
  });
});
