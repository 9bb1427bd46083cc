// Under load a node writes the results of its finished tasks at most once per interval, in one
// statement; after a quiet spell and while draining, at once. Counted on the statements the
// batcher actually sends, against the real database, with the final rows checked.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../server/db/database.js';
import { claimTasks } from '../../server/queue/claimTasks.js';
import { FinishBatcher } from '../../server/queue/finishBatcher.js';
import type { ClaimedTask } from '../../server/queue/types.js';
import { postSpec, specYaml, useApiOnlyNode } from '../helpers/testServer.js';

const api = useApiOnlyNode();

/** The real database; every statement's time is noted (performance.now). */
function counted(): { db: Queryable; sentAt: number[] } {
  const sentAt: number[] = [];
  return {
    sentAt,
    db: {
      query: (text, params, options) => {
        sentAt.push(performance.now());
        return api.db.query(text, params, options);
      },
    },
  };
}

async function claimed(app: string, count: number): Promise<ClaimedTask[]> {
  for (let i = 0; i < count; i++) await postSpec(api.node.url, specYaml(app, ['true']));
  const tasks = await claimTasks(api.db, { nodeId: 'n1', limit: count, leaseMs: 60_000 });
  expect(tasks).toHaveLength(count);
  return tasks;
}

const completed = (t: ClaimedTask) => ({
  id: t.id,
  taskId: t.taskId,
  attempt: t.attempt,
  outcome: { kind: 'completed' as const },
});

const silent = pino({ level: 'silent' });
const retry = { baseDelayMs: 10, maxDelayMs: 10 };

async function statuses(app: string): Promise<string[]> {
  const rows = await api.db.query<{ status: string }>(
    'SELECT status FROM queue_tasks WHERE app_name = $1 ORDER BY id',
    [app],
  );
  return rows.map((r) => r.status);
}

describe('FinishBatcher under load', () => {
  it('writes a first result at once, and what ends within the interval after it in one statement', async () => {
    const tasks = await claimed('batched', 8);
    const { db, sentAt } = counted();
    const batcher = new FinishBatcher(db, 'n1', retry, silent, { writeIntervalMs: 400 });
    const started = performance.now();
    const first = batcher.add(completed(tasks[0]!));
    // The others end one by one, in turns of the event loop of their own, while the first is
    // written and soon after.
    const rest: Promise<unknown>[] = [];
    for (const task of tasks.slice(1)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      rest.push(batcher.add(completed(task)));
    }
    await first;
    await Promise.all(rest);
    // One statement for the first, one for the seven others (without batching: one per turn).
    expect(sentAt).toHaveLength(2);
    expect(sentAt[0]! - started).toBeLessThan(400);
    // Timers may fire a little early on some platforms; the gap is the interval.
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(390);
    expect(await statuses('batched')).toEqual(Array(8).fill('completed'));
  });

  it('writes at once after a quiet spell, and at once while draining', async () => {
    const tasks = await claimed('quiet', 3);
    const { db, sentAt } = counted();
    // An interval far longer than the test may take: any wait for it would time the test out.
    const batcher = new FinishBatcher(db, 'n1', retry, silent, { writeIntervalMs: 600_000 });
    await batcher.add(completed(tasks[0]!));
    expect(sentAt).toHaveLength(1);
    // Under load now (a write just went out): the next result waits for the interval… (It is
    // added as the first one's answer resumes this test, while that flush is still ending: it
    // must not be left behind by it.)
    const second = batcher.add(completed(tasks[1]!));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sentAt).toHaveLength(1);
    expect(await statuses('quiet')).toEqual(['completed', 'running', 'running']);
    // …unless the node drains: then what waits is written at once, and so is what comes after.
    await batcher.drain(5_000);
    await second;
    await batcher.add(completed(tasks[2]!));
    expect(sentAt).toHaveLength(3);
    expect(await statuses('quiet')).toEqual(['completed', 'completed', 'completed']);
  });
});
