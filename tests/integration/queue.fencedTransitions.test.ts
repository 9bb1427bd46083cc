// The statements that end an attempt, each checked against the race it must win: a result is
// written only by the (node, attempt) that holds the task; a cancel request wins over a failure
// and over a shutdown's hand-back (never back to `pending`); a heartbeat does not renew a lease
// that already expired; retention never deletes a task that a retry made `pending` meanwhile.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { requestCancel, retryTask } from '../../server/queue/changeTasks.js';
import { claimTasks } from '../../server/queue/claimTasks.js';
import { finishTasks, releaseTasks, runKey } from '../../server/queue/finishTasks.js';
import { heartbeat } from '../../server/queue/nodes.js';
import { recoverTasks } from '../../server/queue/recoverTasks.js';
import { pruneFinishedTasks } from '../../server/queue/retention.js';
import { onPostgres, POSTGRES_ONLY_MESSAGE } from '../helpers/testDatabase.js';
import { postSpec, specYaml, useApiOnlyNode } from '../helpers/testServer.js';

const NODE = 'node-a';
const retry = { baseDelayMs: 10, maxDelayMs: 10 };
const api = useApiOnlyNode();

async function claimOne(app: string) {
  const { body } = await postSpec(api.node.url, specYaml(app, ['true']));
  const [task] = await claimTasks(api.db, { nodeId: NODE, limit: 1, leaseMs: 60_000 });
  expect(task?.taskId).toBe(body.task_id);
  return task!;
}

async function row(taskId: string) {
  const [r] = await api.db.query<{
    status: string;
    attempts: number;
    used: number;
    error_message: string | null;
  }>(
    'SELECT status, attempts, attempts - attempt_base - lost_count AS used, error_message FROM queue_tasks WHERE task_id = $1',
    [taskId],
  );
  return r!;
}

describe('fenced transitions', () => {
  it('writes a result only for the node and attempt that hold the task', async () => {
    const task = await claimOne('fence-app');
    const failed = { kind: 'failed' as const, error: 'boom' };
    expect(
      await finishTasks(
        api.db,
        'other-node',
        [{ id: task.id, attempt: 1, outcome: failed }],
        retry,
      ),
    ).toEqual(new Map());
    expect(
      await finishTasks(api.db, NODE, [{ id: task.id, attempt: 2, outcome: failed }], retry),
    ).toEqual(new Map());
    expect(await releaseTasks(api.db, NODE, [{ id: task.id, attempt: 2 }])).toEqual(new Map());
    const written = await finishTasks(
      api.db,
      NODE,
      [{ id: task.id, attempt: 1, outcome: { kind: 'completed' } }],
      retry,
    );
    expect(written.get(runKey(task.id, 1))?.status).toBe('completed');
  });

  it('stores a result whose error holds NUL bytes and any text', async () => {
    const task = await claimOne('nul-app');
    const error = 'x\u0000y \uFFFD é 😀';
    const written = await finishTasks(
      api.db,
      NODE,
      [{ id: task.id, attempt: 1, outcome: { kind: 'failed', error } }],
      retry,
    );
    expect(written.get(runKey(task.id, 1))?.status).toBe('failed');
    expect((await row(task.taskId)).error_message).toBe('x\uFFFDy \uFFFD é 😀');
  });

  it('a cancel request that lands while the attempt fails makes it cancelled', async () => {
    const task = await claimOne('cancel-fail-app');
    expect((await requestCancel(api.db, task.taskId, 'alice')).kind).toBe('cancelling');
    await finishTasks(
      api.db,
      NODE,
      [{ id: task.id, attempt: 1, outcome: { kind: 'failed', error: 'exit 3' } }],
      retry,
    );
    expect(await row(task.taskId)).toMatchObject({ status: 'cancelled' });
    expect((await row(task.taskId)).error_message).toContain('exit 3');
  });

  it('a cancel request never lets a completed attempt become anything but completed', async () => {
    const task = await claimOne('cancel-done-app');
    await requestCancel(api.db, task.taskId, 'alice');
    await finishTasks(
      api.db,
      NODE,
      [{ id: task.id, attempt: 1, outcome: { kind: 'completed' } }],
      retry,
    );
    expect((await row(task.taskId)).status).toBe('completed');
  });

  it('a task cancelled during a shutdown is not handed back to the queue', async () => {
    const task = await claimOne('cancel-release-app');
    await requestCancel(api.db, task.taskId, 'alice');
    const released = await releaseTasks(api.db, NODE, [{ id: task.id, attempt: 1 }]);
    expect(released.get(runKey(task.id, 1))?.status).toBe('cancelled');
    expect(await row(task.taskId)).toMatchObject({ status: 'cancelled', attempts: 1 });
  });

  it('a hand-back uses up no attempt, and the next run has a new attempt number', async () => {
    const task = await claimOne('release-app');
    await releaseTasks(api.db, NODE, [{ id: task.id, attempt: 1 }]);
    expect(await row(task.taskId)).toMatchObject({ status: 'pending', attempts: 1, used: 0 });
    const [again] = await claimTasks(api.db, { nodeId: NODE, limit: 1, leaseMs: 60_000 });
    expect(again?.attempt).toBe(2);
    await finishTasks(
      api.db,
      NODE,
      [{ id: task.id, attempt: 2, outcome: { kind: 'completed' } }],
      retry,
    );
    expect(await row(task.taskId)).toMatchObject({ status: 'completed', used: 1 });
  });

  it('a heartbeat does not renew an expired lease; recovery takes it, even from its own node', async () => {
    const task = await claimOne('expired-app');
    await api.db.query(
      "UPDATE queue_tasks SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
      [task.id],
    );
    const beat = await heartbeat(
      api.db,
      { id: NODE, concurrency: 1 },
      [{ id: task.id, attempt: 1 }],
      {
        leaseMs: 60_000,
        timeoutMs: 5_000,
      },
    );
    expect(beat.held.size).toBe(0);
    const recovered = await recoverTasks(api.db, { maxLost: 3 });
    expect(recovered.map((r) => [r.taskId, r.status])).toEqual([[task.taskId, 'pending']]);
    // Out of the way of the next tests.
    await api.db.query(
      "UPDATE queue_tasks SET status = 'cancelled', completed_at = now() WHERE id = $1",
      [task.id],
    );
  });
});

describe.skipIf(!onPostgres)(
  `retention racing a manual retry (${onPostgres ? 'PostgreSQL' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    it('keeps a task that a retry made pending after retention chose it', async () => {
      const task = await claimOne('retention-app');
      await finishTasks(
        api.db,
        NODE,
        [{ id: task.id, attempt: 1, outcome: { kind: 'failed', error: 'x' } }],
        retry,
      );
      await api.db.query(
        "UPDATE queue_tasks SET completed_at = now() - interval '2 days' WHERE id = $1",
        [task.id],
      );
      // The retry holds the row lock when retention's DELETE reaches the row; it commits after.
      const retrier = new pg.Client({ connectionString: api.database.url });
      await retrier.connect();
      try {
        await retrier.query('BEGIN');
        await retryTask(
          { query: async (t, p) => (await retrier.query(t, p as unknown[])).rows },
          task.taskId,
        );
        const pruning = pruneFinishedTasks(api.db, { maxAgeMs: 86_400_000, batchSize: 10 });
        // Wait until the DELETE is blocked on the row lock, then commit the retry.
        for (let i = 0; i < 200; i++) {
          const [waiting] = await api.db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%DELETE FROM queue_tasks%'",
          );
          if (waiting!.n > 0) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        await retrier.query('COMMIT');
        expect(await pruning).toBe(0);
      } finally {
        await retrier.end();
      }
      expect((await row(task.taskId)).status).toBe('pending');
    });
  },
);
