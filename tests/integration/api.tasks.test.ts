// Task history and actions through the SDK and REST: details with steps, keyset pages, logs with
// an offset, cancel, retry, and the live streams (tRPC subscriptions and SSE).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createQueueClient,
  QueueClientError,
  type QueueClient,
  type TaskEvent,
} from '@innominatus-queue/client';
import type { ScoreSpec } from '../../shared/spec.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { getJson, startTestServer, TOKEN, type TestServer } from '../helpers/testServer.js';
import { isAlive } from '../helpers/processes.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase;
let node: TestServer;
let client: QueueClient;

const spec = (name: string, commands: string[], retries?: number): ScoreSpec => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name },
  containers: { web: { image: 'nginx' } },
  workflow: {
    steps: commands.map((command, i) => ({ name: `s${i + 1}`, type: 'bash', config: { command } })),
    ...(retries !== undefined ? { retries } : {}),
  },
});

async function finished(taskId: string) {
  return waitFor(
    async () => {
      const task = await client.task(taskId);
      return ['completed', 'failed', 'cancelled'].includes(task.status) ? task : undefined;
    },
    { what: `task ${taskId} to finish`, timeoutMs: 20_000 },
  );
}

beforeAll(async () => {
  database = await createTestDatabase();
  node = await startTestServer(database, { RETRY_BASE_DELAY: '0.05' });
  client = node.client;
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

describe('task details and logs', () => {
  it('shows every step with status, duration, exit code and output', async () => {
    const { task_id } = await client.enqueueSpec({
      spec: spec('detail-app', ['echo one', 'sleep 0.2; echo two >&2']),
    });
    const task = await finished(task_id);
    expect(task).toMatchObject({
      id: task_id,
      app_name: 'detail-app',
      status: 'completed',
      attempts: 1,
      max_attempts: 1,
      golden_path: 'deploy-app',
      errors: [],
      locked_by: null,
      metadata: { source: 'trpc', user: 'api-user', role: 'admin' },
    });
    expect(task.steps.map((s) => [s.name, s.status, s.exit_code, s.output])).toEqual([
      ['s1', 'completed', 0, 'one\n'],
      ['s2', 'completed', 0, 'two\n'],
    ]);
    // A step's times are the database's clock less the node's elapsed time when each row is
    // sent (stepRecords.ts): a row that waits longer on its way shifts its stamp by as much, so a
    // duration may read a few milliseconds short (198 for this 200 ms sleep, seen under load).
    expect(task.steps[1]!.duration_ms).toBeGreaterThanOrEqual(190);
    expect(task.spec).toMatchObject({ metadata: { name: 'detail-app' } });
  });

  it('reads the log from an offset', async () => {
    const { task_id } = await client.enqueueSpec({
      spec: spec('log-app', ['echo alpha', 'echo beta']),
    });
    await finished(task_id);
    const all = await client.taskLogs(task_id);
    expect(all.text).toBe('==> step s1\nalpha\n==> step s2\nbeta\n');
    expect(all.complete).toBe(true);
    const rest = await client.taskLogs(task_id, all.text.indexOf('==> step s2'));
    expect(rest.text).toBe('==> step s2\nbeta\n');
    expect(rest.next_offset).toBe(all.next_offset);
    const rest2 = await getJson(
      node.url,
      `/api/queue/tasks/${task_id}/logs?offset=${all.next_offset}`,
      TOKEN,
    );
    expect(rest2.body).toMatchObject({ text: '', complete: true });
  });

  it('needs a token for details and logs, and answers 404 for an unknown task', async () => {
    const { task_id } = await client.enqueueSpec({ spec: spec('secret-app', ['true']) });
    expect((await getJson(node.url, `/api/queue/tasks/${task_id}`)).status).toBe(401);
    expect((await getJson(node.url, `/api/queue/tasks/${task_id}/logs`)).status).toBe(401);
    expect((await getJson(node.url, '/api/queue/tasks/task-1-999999', TOKEN)).status).toBe(404);
    expect((await getJson(node.url, '/api/queue/tasks/not-a-task', TOKEN)).status).toBe(400);
    const anonymous = createQueueClient({ url: node.url });
    await expect(anonymous.task(task_id)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      httpStatus: 401,
    });
  });
});

describe('task lists', () => {
  it('pages newest first by keyset, stable while tasks are added', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await client.enqueueSpec({ spec: spec('page-app', ['true']) })).task_id);
    const first = await client.tasks({ app: 'page-app', limit: 3 });
    expect(first.tasks.map((t) => t.id)).toEqual(ids.slice(-3).reverse());
    // New tasks arrive between pages: the next page continues where the first ended.
    await Promise.all(
      [1, 2, 3].map(() => client.enqueueSpec({ spec: spec('page-app', ['true']) })),
    );
    const second = await client.tasks({ app: 'page-app', limit: 3, cursor: first.next_cursor! });
    expect(second.tasks.map((t) => t.id)).toEqual(ids.slice(1, 4).reverse());
    const third = await client.tasks({ app: 'page-app', limit: 3, cursor: second.next_cursor! });
    expect(third.tasks.map((t) => t.id)).toEqual([ids[0]]);
    expect(third.next_cursor).toBeNull();
  });

  it('filters by status over REST', async () => {
    const { task_id } = await client.enqueueSpec({ spec: spec('filter-app', ['exit 1']) });
    await finished(task_id);
    const { status, body } = await getJson(
      node.url,
      '/api/queue/tasks?status=failed&app=filter-app',
    );
    expect(status).toBe(200);
    expect(body.tasks.map((t: { id: string }) => t.id)).toEqual([task_id]);
    expect(body.tasks[0].error_message).toBe("step 's1' failed with exit code 1");
    expect((await getJson(node.url, '/api/queue/tasks?status=bogus')).status).toBe(400);
    expect((await getJson(node.url, '/api/queue/tasks?limit=0')).status).toBe(400);
  });
});

describe('retries', () => {
  it('retries a failing workflow as often as workflow.retries says, keeping each error', async () => {
    const { task_id } = await client.enqueueSpec({
      spec: spec('retry-app', ['echo "attempt $TASK_ID" >&2; exit 7'], 2),
    });
    const task = await finished(task_id);
    expect(task.status).toBe('failed');
    expect(task.attempts).toBe(3);
    expect(task.errors.map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(task.errors[0]!.error).toContain('exit code 7');
  });

  it('retryTask runs a failed task again; a completed one cannot be retried', async () => {
    const marker = `/tmp/queue-retry-${Date.now()}`;
    const { task_id } = await client.enqueueSpec({
      spec: spec('manual-retry-app', [
        `if [ -e ${marker} ]; then echo second; else touch ${marker}; exit 1; fi`,
      ]),
    });
    expect((await finished(task_id)).status).toBe('failed');
    const action = await client.retryTask(task_id);
    expect(action).toMatchObject({ id: task_id, status: 'pending' });
    const again = await finished(task_id);
    expect(again.status).toBe('completed');
    expect(again.attempts).toBe(2);
    expect(again.steps[0]!.output).toBe('second\n');
    await expect(client.retryTask(task_id)).rejects.toMatchObject({
      code: 'CONFLICT',
      httpStatus: 409,
    });
  });
});

describe('manual retries', () => {
  it('each manual retry grants the attempts the task had at first, no more', async () => {
    const { task_id } = await client.enqueueSpec({ spec: spec('budget-app', ['exit 1'], 1) });
    expect((await finished(task_id)).attempts).toBe(2);
    for (const expected of [4, 6]) {
      await client.retryTask(task_id);
      const task = await finished(task_id);
      expect(task.status).toBe('failed');
      expect(task.attempts).toBe(expected);
    }
  });
});

describe('cancellation', () => {
  it('cancels a running task: its process group is stopped and it ends cancelled', async () => {
    const pidFile = `/tmp/queue-cancel-${Date.now()}`;
    const { task_id } = await client.enqueueSpec({
      spec: spec('cancel-app', [`sleep 300 & echo $! > ${pidFile}; wait`, 'echo never']),
    });
    await waitFor(async () => (await client.task(task_id)).steps[0]!.status === 'running', {
      what: 'the step to run',
    });
    const pid = Number(
      await waitFor(
        async () => (await import('node:fs')).readFileSync(pidFile, 'utf8').trim() || undefined,
      ),
    );
    const started = Date.now();
    const response = await fetch(`${node.url}/api/queue/tasks/${task_id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: task_id, status: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(3_000);
    const task = await client.task(task_id);
    expect(task.status).toBe('cancelled');
    expect(task.error_message).toBe("cancelled during step 's1'");
    expect(task.steps.map((s) => s.status)).toEqual(['cancelled', 'pending']);
    await waitFor(() => !isAlive(pid), { what: `process ${pid} to be gone`, timeoutMs: 5_000 });
    // Cancelling a finished task is a conflict.
    await expect(client.cancelTask(task_id)).rejects.toMatchObject({
      code: 'CONFLICT',
      httpStatus: 409,
    });
  });

  it('cancels a pending task at once', async () => {
    // Fill the five workers so the next task waits.
    const blockers = await Promise.all(
      [1, 2, 3, 4, 5].map(() => client.enqueueSpec({ spec: spec('blocker-app', ['sleep 30']) })),
    );
    await waitFor(async () => (await client.activeTasks()).count === 5, {
      what: 'five running tasks',
    });
    const { task_id } = await client.enqueueSpec({ spec: spec('waiting-app', ['echo never']) });
    const action = await client.cancelTask(task_id);
    expect(action.status).toBe('cancelled');
    expect((await client.task(task_id)).error_message).toBe(
      'cancelled by api-user before it started',
    );
    await Promise.all(blockers.map((b) => client.cancelTask(b.task_id)));
    expect((await client.activeTasks()).count).toBe(0);
    await expect(client.cancelTask('task-1-424242')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('live updates', () => {
  it('onTask streams status changes, step starts and ends, and output lines in order', async () => {
    // Held back until the stream is open, so the stream sees every event of the run.
    await client.pauseQueue({ app_name: 'live-app' });
    const { task_id } = await client.enqueueSpec({
      spec: spec('live-app', ['echo first; sleep 0.3; echo second', 'echo third']),
    });
    const events: TaskEvent[] = [];
    const streamed = new Promise<void>((resolve, reject) => {
      const sub = client.onTask(task_id, {
        onData: (event) => events.push(event),
        onError: reject,
        onComplete: () => {
          sub.unsubscribe();
          resolve();
        },
      });
    });
    await waitFor(() => events.length > 0, { what: 'the stream to open' });
    await client.resumeQueue({ app_name: 'live-app' });
    await streamed;
    const kinds = events.map((e) =>
      e.type === 'task.status'
        ? `status:${e.status}`
        : e.type === 'step.output'
          ? `output:${e.position}`
          : `${e.type}:${e.position}`,
    );
    expect(kinds.slice(0, 2)).toEqual(['status:pending', 'status:running']);
    const fromRunning = kinds.slice(2);
    const output = events
      .filter((e) => e.type === 'step.output')
      .map((e) => (e as { text: string }).text)
      .join('');
    expect(output).toBe('first\nsecond\nthird\n');
    expect(fromRunning.filter((k) => !k.startsWith('output'))).toEqual([
      'step.started:0',
      'step.finished:0',
      'step.started:1',
      'step.finished:1',
      'status:completed',
    ]);
    // Output of a step comes between its start and its end.
    expect(kinds.indexOf('output:0')).toBeGreaterThan(kinds.indexOf('step.started:0'));
    expect(kinds.lastIndexOf('output:0')).toBeLessThan(kinds.indexOf('step.finished:0'));
  });

  it('onStats emits the current stats, then each change', async () => {
    const seen: number[] = [];
    const sub = client.onStats({ onData: (stats) => seen.push(stats.tasks_enqueued) });
    try {
      await waitFor(() => seen.length >= 1, { what: 'the first stats' });
      const before = seen[seen.length - 1]!;
      await client.enqueueSpec({ spec: spec('stats-live-app', ['true']) });
      await waitFor(() => seen.includes(before + 1), { what: 'stats with the new task' });
    } finally {
      sub.unsubscribe();
    }
  });

  it('GET /api/queue/events streams stats and task events as SSE', async () => {
    const controller = new AbortController();
    const response = await fetch(`${node.url}/api/queue/events`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })().catch(() => undefined);
    await waitFor(() => text.includes('event: stats'), { what: 'a stats event' });
    const { task_id } = await client.enqueueSpec({ spec: spec('sse-app', ['true']) });
    await waitFor(
      () => text.includes(`"task_id":"${task_id}"`) && text.includes('"status":"completed"'),
      {
        what: 'the task events',
      },
    );
    expect(text).toContain('event: task');
    controller.abort();
    await reading;
  });

  it('the SDK reports an unreachable server as a network error', async () => {
    const offline = createQueueClient({ url: 'http://127.0.0.1:9', retries: 0 });
    const error = await offline.queueStats().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueClientError);
    expect((error as QueueClientError).code).toBe('NETWORK_ERROR');
  });
});

describe('the SDK against a server that never answers', () => {
  it('gives up after timeoutMs with a TIMEOUT error', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const slow = createQueueClient({
        url: `http://127.0.0.1:${port}`,
        retries: 0,
        timeoutMs: 300,
      });
      const started = Date.now();
      const error = await slow.queueStats().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueueClientError);
      expect((error as QueueClientError).code).toBe('TIMEOUT');
      expect((error as QueueClientError).message).toContain('did not answer in time');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('subscriptions against an unreachable server', () => {
  it('end with a network error instead of retrying unseen forever', async () => {
    const offline = createQueueClient({ url: 'http://127.0.0.1:9', connectAttempts: 2 });
    const error = await new Promise<QueueClientError>((resolve) => {
      offline.onStats({ onData: () => undefined, onError: resolve });
    });
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.message).toContain('http://127.0.0.1:9');
  });
});
