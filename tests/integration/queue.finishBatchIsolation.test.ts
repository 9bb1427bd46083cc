// One bad result never costs another its record: a batch the database refuses for a reason other
// than being unavailable is written row by row, and a row that still fails is recorded as a failed
// attempt naming why — never left `running`.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../server/db/database.js';
import { claimTasks } from '../../server/queue/claimTasks.js';
import { FinishBatcher } from '../../server/queue/finishBatcher.js';
import { postSpec, specYaml, useApiOnlyNode } from '../helpers/testServer.js';

const api = useApiOnlyNode();

/** The real database, except that any statement carrying `poison` fails like a bad value would. */
function poisoned(poison: string): Queryable {
  return {
    query: (text, params, options) => {
      if (params?.some((p) => Array.isArray(p) && p.includes(poison))) {
        return Promise.reject(
          Object.assign(new Error('invalid byte sequence for encoding "UTF8"'), { code: '22021' }),
        );
      }
      return api.db.query(text, params, options);
    },
  };
}

describe('FinishBatcher', () => {
  it('stores the good results of a refused batch and records the bad one as failed', async () => {
    for (const app of ['ok-1', 'bad', 'ok-2'])
      await postSpec(api.node.url, specYaml(app, ['true']));
    const tasks = await claimTasks(api.db, { nodeId: 'n1', limit: 3, leaseMs: 60_000 });
    expect(tasks).toHaveLength(3);
    const batcher = new FinishBatcher(
      poisoned('POISON'),
      'n1',
      { baseDelayMs: 10, maxDelayMs: 10 },
      pino({ level: 'silent' }),
    );
    const written = await Promise.all(
      tasks.map((t) =>
        batcher.add({
          id: t.id,
          taskId: t.taskId,
          attempt: t.attempt,
          outcome:
            t.appName === 'bad' ? { kind: 'failed', error: 'POISON' } : { kind: 'completed' },
        }),
      ),
    );
    expect(written.map((w) => ('status' in w ? w.status : 'fenced'))).toEqual(
      tasks.map((t) => (t.appName === 'bad' ? 'failed' : 'completed')),
    );
    const rows = await api.db.query<{
      app_name: string;
      status: string;
      error_message: string | null;
    }>('SELECT app_name, status, error_message FROM queue_tasks ORDER BY app_name');
    expect(rows).toEqual([
      {
        app_name: 'bad',
        status: 'failed',
        error_message:
          'could not record the result of attempt 1 (failed): invalid byte sequence for encoding "UTF8"',
      },
      { app_name: 'ok-1', status: 'completed', error_message: null },
      { app_name: 'ok-2', status: 'completed', error_message: null },
    ]);
  });
});
