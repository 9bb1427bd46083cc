// A claim carries the results of the node's finished attempts in its own statement: both parts
// stay fenced, a task put back to `pending` by its result is not claimed by the same statement,
// and results the statement did not write go back to the finisher and are written as any other.
// The row of the step that ended a workflow rides in the same statement as its task's result; a
// step row the database refuses is written apart and never costs its task the result.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Database, Queryable } from '../../server/db/database.js';
import { claimAndFinish, claimTasks } from '../../server/queue/claimTasks.js';
import { FinishBatcher } from '../../server/queue/finishBatcher.js';
import { finishTasks } from '../../server/queue/finishTasks.js';
import { StepRecordBatcher } from '../../server/workflow/stepRecordBatcher.js';
import type { CarriedStepRow } from '../../server/workflow/stepRecords.js';
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

describe('the step row carried with a result', () => {
  const silent = pino({ level: 'silent' });

  /** The database, counting statements; any that carries `POISON` is refused. */
  function guarded(db: Database) {
    const sent: string[] = [];
    const wrapped: Database = {
      ...db,
      async query<Row>(text: string, params?: readonly unknown[], options?: object) {
        sent.push(text);
        if (JSON.stringify(params ?? []).includes('POISON')) throw new Error('refused by the test');
        return db.query<Row>(text, params, options);
      },
    };
    return { db: wrapped, sent };
  }

  /** A claimed task's single step, ended with `output` and handed over whole. */
  function carried(db: Queryable, task: { id: number }, output: string): CarriedStepRow {
    const started = new StepRecordBatcher(db, silent, 60_000).start({
      taskRowId: task.id,
      attempt: 1,
      position: 0,
      name: 'only',
      type: 'bash',
    });
    const row = started.handOver({
      status: 'completed',
      exitCode: 0,
      output,
      outputBytes: output.length,
      error: null,
    });
    expect(row).toBeDefined();
    return row!;
  }

  /** Posts these applications' tasks and claims them (with whatever else is pending) for `nodeId`. */
  async function claimed(nodeId: string, ...apps: string[]) {
    for (const app of apps) await postSpec(api.node.url, specYaml(app, ['true']));
    const tasks = await claimTasks(api.db, { nodeId, limit: 100, leaseMs: 60_000 });
    return apps.map((app) => tasks.find((t) => t.appName === app)!);
  }

  const stepRows = (id: number) =>
    api.db.query<{ status: string; output: string; error: string | null }>(
      'SELECT status, output, error FROM queue_task_steps WHERE task_id = $1',
      [id],
    );

  it('is written by the statement that stores the result', async () => {
    const [task] = await claimed('n4', 'carried-finish');
    const db = guarded(api.db);
    const stepRow = carried(db.db, task!, 'all done\n');
    const finished = await finishTasks(
      db.db,
      'n4',
      [{ id: task!.id, attempt: 1, outcome: { kind: 'completed', stepRow } }],
      RETRY,
    );
    expect([...finished.values()].map((row) => row.status)).toEqual(['completed']);
    expect(db.sent).toHaveLength(1);
    expect(await stepRows(task!.id)).toEqual([
      { status: 'completed', output: 'all done\n', error: null },
    ]);
  });

  it('is written by a claim that carries the result, and written even when fenced', async () => {
    const [mine] = await claimed('n5', 'carried-claim');
    const [theirs] = await claimed('n6', 'carried-fenced');
    const db = guarded(api.db);
    const { finished } = await claimAndFinish(
      db.db,
      { nodeId: 'n5', limit: 1, leaseMs: 60_000 },
      {
        attempts: [
          {
            id: mine!.id,
            attempt: 1,
            outcome: { kind: 'failed', error: 'exit 1', stepRow: carried(db.db, mine!, 'a') },
          },
          // Not this node's run: its result is fenced off, its step row (keyed by attempt) kept.
          {
            id: theirs!.id,
            attempt: 1,
            outcome: { kind: 'completed', stepRow: carried(db.db, theirs!, 'b') },
          },
        ],
        retry: RETRY,
      },
    );
    expect(db.sent).toHaveLength(1);
    expect([...finished.keys()]).toEqual([`${mine!.id}:1`]);
    expect(await stepRows(mine!.id)).toEqual([{ status: 'completed', output: 'a', error: null }]);
    expect(await stepRows(theirs!.id)).toEqual([{ status: 'completed', output: 'b', error: null }]);
    expect(await statuses()).toMatchObject({
      'carried-claim': 'failed',
      'carried-fenced': 'running by n6',
    });
  });

  it('that the database refuses is written apart, without its output, and the result stored', async () => {
    const [a, b] = await claimed('n7', 'carried-refused', 'carried-neighbour');
    const db = guarded(api.db);
    const finisher = new FinishBatcher(db.db, 'n7', RETRY, silent);
    const written = await Promise.all([
      finisher.add({
        id: a!.id,
        taskId: a!.taskId,
        attempt: 1,
        outcome: { kind: 'completed', stepRow: carried(db.db, a!, 'POISON') },
      }),
      finisher.add({
        id: b!.id,
        taskId: b!.taskId,
        attempt: 1,
        outcome: { kind: 'completed', stepRow: carried(db.db, b!, 'fine') },
      }),
    ]);
    await finisher.drain(1_000);
    expect(written.map((w) => ('status' in w ? w.status : 'fenced'))).toEqual([
      'completed',
      'completed',
    ]);
    expect(await statuses()).toMatchObject({
      'carried-refused': 'completed',
      'carried-neighbour': 'completed',
    });
    expect(await stepRows(a!.id)).toEqual([
      {
        status: 'completed',
        output: '',
        error: expect.stringContaining('its output could not be stored') as unknown,
      },
    ]);
    expect(await stepRows(b!.id)).toEqual([{ status: 'completed', output: 'fine', error: null }]);
  });
});
