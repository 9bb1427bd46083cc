// A claim carries the results of the node's finished attempts in its own statement: both parts
// stay fenced, a task put back to `pending` by its result is not claimed by the same statement,
// and results the statement did not write go back to the finisher and are written as any other.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { claimAndFinish, claimTasks } from '../../server/queue/claimTasks.js';
import { FinishBatcher } from '../../server/queue/finishBatcher.js';
import { postSpec, specYaml, useApiOnlyNode } from '../helpers/testServer.js';

const RETRY = { baseDelayMs: 60_000, maxDelayMs: 60_000 };

const api = useApiOnlyNode();

const statuses = async () =>
  Object.fromEntries(
    (
      await api.db.query<{ app_name: string; status: string; locked_by: string | null }>(
        'SELECT app_name, status, locked_by FROM queue_tasks',
      )
    ).map((r) => [r.app_name, `${r.status}${r.locked_by ? ` by ${r.locked_by}` : ''}`]),
  );

describe('claimAndFinish', () => {
  it('stores fenced results and claims pending tasks in one statement', async () => {
    for (const app of ['done', 'broken', 'retried', 'other-node', 'next-1', 'next-2']) {
      await postSpec(api.node.url, specYaml(app, ['true']));
    }
    await api.db.query(`UPDATE queue_tasks SET max_attempts = 2 WHERE app_name = 'retried'`);
    const mine = await claimTasks(api.db, { nodeId: 'n1', limit: 3, leaseMs: 60_000 });
    const theirs = await claimTasks(api.db, { nodeId: 'n2', limit: 1, leaseMs: 60_000 });
    const byApp = new Map([...mine, ...theirs].map((t) => [t.appName, t]));
    const result = (app: string) => ({ id: byApp.get(app)!.id, attempt: 1 });

    const { tasks, finished } = await claimAndFinish(
      api.db,
      { nodeId: 'n1', limit: 5, leaseMs: 60_000 },
      {
        attempts: [
          { ...result('done'), outcome: { kind: 'completed' } },
          { ...result('broken'), outcome: { kind: 'failed', error: 'exit 1' } },
          { ...result('retried'), outcome: { kind: 'failed', error: 'exit 2' } },
          // Not this node's run: fenced, left alone.
          { ...result('other-node'), outcome: { kind: 'completed' } },
        ],
        retry: RETRY,
      },
    );

    expect(tasks.map((t) => t.appName)).toEqual(['next-1', 'next-2']);
    const appOf = new Map([...byApp].map(([app, t]) => [`${t.id}:1`, app]));
    expect(
      Object.fromEntries([...finished].map(([key, row]) => [appOf.get(key), row.status])),
    ).toEqual({ done: 'completed', broken: 'failed', retried: 'pending' });
    expect(await statuses()).toEqual({
      done: 'completed',
      broken: 'failed',
      // Back to pending after its backoff, and not claimed by the statement that put it back.
      retried: 'pending',
      'other-node': 'running by n2',
      'next-1': 'running by n1',
      'next-2': 'running by n1',
    });
  });
});

describe('FinishBatcher.take', () => {
  it('hands out finished results only; results given back are written by the batcher', async () => {
    await postSpec(api.node.url, specYaml('give-back-1', ['true']));
    await postSpec(api.node.url, specYaml('give-back-2', ['true']));
    const [a, b] = await claimTasks(api.db, { nodeId: 'n3', limit: 2, leaseMs: 60_000 });
    const batcher = new FinishBatcher(api.db, 'n3', RETRY, pino({ level: 'silent' }));
    const written = [
      batcher.add({ id: a!.id, taskId: a!.taskId, attempt: 1, outcome: { kind: 'completed' } }),
      batcher.add({ id: b!.id, taskId: b!.taskId, attempt: 1, outcome: { kind: 'released' } }),
    ];
    // Taken in the same turn as added, before the batcher's own write.
    const taken = batcher.take();
    expect(taken?.attempts).toEqual([{ id: a!.id, attempt: 1, outcome: { kind: 'completed' } }]);
    expect(batcher.take()).toBeUndefined();
    // The statement that carried it failed: the batcher writes it instead.
    batcher.giveBack(taken!);
    expect((await Promise.all(written)).map((w) => ('status' in w ? w.status : 'fenced'))).toEqual([
      'completed',
      'pending',
    ]);
    await batcher.drain(1_000);
    expect(await statuses()).toMatchObject({
      'give-back-1': 'completed',
      'give-back-2': 'pending',
    });
  });
});
