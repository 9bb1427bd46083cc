// Per-token enqueue rate limits (429 with Retry-After), CORS off unless configured, and retention
// that deletes old finished tasks in batches while the stats totals stay right.
import { afterEach, describe, expect, it } from 'vitest';
import { createQueueClient } from '@innominatus-queue/client';
import { RetentionJob } from '../../server/queue/retention.js';
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

const spec = (name: string): ScoreSpec => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name },
  containers: { web: { image: 'nginx' } },
  workflow: { steps: [] },
});

describe('enqueue rate limit per token', () => {
  it('answers 429 with Retry-After once a token spends its burst; other tokens are not affected', async () => {
    database = await createTestDatabase();
    node = await startTestServer(database, {
      QUEUE_CONCURRENCY: '0',
      API_TOKENS: 'token-alice-1:alice,token-bob-22:bob',
      ENQUEUE_RATE_LIMIT: '0.5',
      ENQUEUE_RATE_BURST: '3',
    });
    const body = JSON.stringify(spec('limited-app'));
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof postSpec>> | undefined;
    for (let i = 0; i < 5; i++) {
      const response = await postSpec(node.url, body, {
        contentType: 'application/json',
        token: 'token-alice-1',
      });
      statuses.push(response.status);
      if (response.status === 429) refused = response;
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    expect(refused!.headers.get('retry-after')).toMatch(/^[12]$/);
    expect(refused!.body).toMatchObject({ error: { code: 'TOO_MANY_REQUESTS' } });
    expect((refused!.body as { error: { message: string } }).error.message).toContain('alice');
    // tRPC says the same, with the same header.
    const alice = createQueueClient({ url: node.url, token: 'token-alice-1' });
    await expect(alice.enqueueSpec({ spec: spec('limited-app') })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      httpStatus: 429,
    });
    const bob = await postSpec(node.url, body, {
      contentType: 'application/json',
      token: 'token-bob-22',
    });
    expect(bob.status).toBe(202);
    const [row] = await node.server.services.database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM queue_tasks',
    );
    expect(row!.n).toBe(4);
  });
});

describe('CORS', () => {
  it('sends no CORS headers unless CORS_ORIGINS is set', async () => {
    database = await createTestDatabase();
    node = await startTestServer(database, { QUEUE_CONCURRENCY: '0' });
    const response = await fetch(`${node.url}/api/queue/stats`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows only the configured origins', async () => {
    database = await createTestDatabase();
    node = await startTestServer(database, {
      QUEUE_CONCURRENCY: '0',
      CORS_ORIGINS: 'https://idp.example',
    });
    const preflight = await fetch(`${node.url}/api/specs`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://idp.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://idp.example');
    const other = await fetch(`${node.url}/api/queue/stats`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('retention', () => {
  it('deletes old finished tasks in batches and keeps the stats totals', async () => {
    database = await createTestDatabase();
    node = await startTestServer(database, { QUEUE_CONCURRENCY: '5' });
    const { client } = node;
    for (let i = 0; i < 12; i++) await client.enqueueSpec({ spec: spec(`retained-${i}`) });
    await waitFor(async () => (await client.queueStats()).tasks_completed === 12, {
      what: 'twelve completions',
    });
    const db = node.server.services.database;
    // Ten of them finished two days ago; two just now.
    await db.query(
      `UPDATE queue_tasks SET completed_at = now() - interval '2 days'
       WHERE id IN (SELECT id FROM queue_tasks ORDER BY id LIMIT 10)`,
    );
    const recent = await client.enqueueSpec({ spec: spec('recent') });
    await waitFor(async () => (await client.queueStats()).tasks_completed === 13, {
      what: 'the recent task',
    });
    const before = await client.queueStats();
    const job = new RetentionJob(
      db,
      { maxAgeMs: 24 * 3_600_000, intervalMs: 60_000, batchSize: 3 },
      node.server.services.logger,
    );
    expect(await job.runOnce()).toBe(10);
    await job.stop();
    const left = await db.query<{ app_name: string }>(
      'SELECT app_name FROM queue_tasks ORDER BY id',
    );
    expect(left.map((r) => r.app_name)).toEqual(['retained-10', 'retained-11', 'recent']);
    const after = await client.queueStats();
    expect(after.tasks_enqueued).toBe(before.tasks_enqueued);
    expect(after.tasks_completed).toBe(before.tasks_completed);
    expect(after.avg_execution_time_ms).toBe(before.avg_execution_time_ms);
    expect(recent.task_id).toMatch(/^task-/);
  });
});
