// Whatever a step prints, its task gets a valid record and no other task is affected: NUL bytes
// on stdout or stderr, invalid UTF-8, tens of megabytes, one huge line, and non-ASCII output larger
// than a NOTIFY payload (watched live from another node). On PostgreSQL the same batch also runs on
// two nodes at once, and every task is recorded exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../shared/events.js';
import {
  createTestDatabase,
  onPostgres,
  POSTGRES_ONLY_MESSAGE,
  type TestDatabase,
} from '../helpers/testDatabase.js';
import {
  postSpec,
  specYaml,
  startTestServer,
  useTestNode,
  type TestServer,
} from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const EURO_LINE = `printf '%.0s€' $(seq 3000); echo`;
const HOSTILE: Record<string, { command: string; status: string }> = {
  'nul-stderr-fails': { command: "printf 'x\\0y\\n' >&2; exit 3", status: 'failed' },
  'nul-stdout-completes': { command: "printf 'a\\0b\\n'", status: 'completed' },
  'invalid-utf8': { command: "printf '\\xff\\xfe\\xc3 ok\\n'", status: 'completed' },
  'many-megabytes-of-nul': { command: 'head -c 20000000 /dev/zero; exit 4', status: 'failed' },
  'one-huge-line': {
    command: "head -c 5000000 /dev/zero | tr '\\0' 'z' >&2; exit 5",
    status: 'failed',
  },
  'wide-characters': { command: EURO_LINE, status: 'completed' },
  'plain-1': { command: 'echo fine', status: 'completed' },
  'plain-2': { command: 'true', status: 'completed' },
};

async function enqueueAll(url: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  await Promise.all(
    Object.entries(HOSTILE).map(async ([name, { command }]) => {
      const { status, body } = await postSpec(url, specYaml(name, [command]));
      expect(status).toBe(202);
      ids.set(name, body.task_id as string);
    }),
  );
  return ids;
}

async function expectRecorded(node: TestServer, ids: Map<string, string>): Promise<void> {
  const db = node.server.services.database;
  await waitFor(
    async () => {
      const [row] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM queue_tasks
         WHERE task_id = ANY($1) AND status IN ('completed', 'failed')`,
        [[...ids.values()]],
      );
      return row!.n === ids.size;
    },
    { what: 'every task to end', timeoutMs: 100_000 },
  );
  for (const [name, taskId] of ids) {
    const [task] = await db.query<{
      status: string;
      attempts: number;
      lost_count: number;
      error_message: string | null;
    }>('SELECT status, attempts, lost_count, error_message FROM queue_tasks WHERE task_id = $1', [
      taskId,
    ]);
    expect({ name, ...task }).toMatchObject({
      name,
      status: HOSTILE[name]!.status,
      attempts: 1,
      lost_count: 0,
    });
    const steps = await db.query<{ status: string; output: string; output_bytes: number }>(
      `SELECT s.status, s.output, s.output_bytes FROM queue_task_steps s
       JOIN queue_tasks t ON t.id = s.task_id WHERE t.task_id = $1`,
      [taskId],
    );
    expect(steps.map((s) => s.status)).toEqual([HOSTILE[name]!.status]);
  }
  const one = async (name: string) => {
    const [row] = await db.query<{ error_message: string | null; output: string; bytes: number }>(
      `SELECT t.error_message, s.output, s.output_bytes AS bytes FROM queue_tasks t
       JOIN queue_task_steps s ON s.task_id = t.id WHERE t.task_id = $1`,
      [ids.get(name)],
    );
    return row!;
  };
  expect((await one('nul-stderr-fails')).error_message).toBe(
    "step 'step-1' failed with exit code 3: x\uFFFDy",
  );
  expect((await one('nul-stdout-completes')).output).toBe('a\uFFFDb\n');
  expect((await one('invalid-utf8')).output).toMatch(/^\uFFFD+ ok\n$/);
  const zeros = await one('many-megabytes-of-nul');
  expect(zeros.bytes).toBe(20_000_000);
  expect(zeros.output.length).toBe(node.config.steps.outputLimitBytes);
  expect(zeros.output).toMatch(/^\uFFFD+$/);
  const huge = await one('one-huge-line');
  expect(huge.error_message!.length).toBeLessThan(2_100);
  expect(huge.error_message).toMatch(/exit code 5: …z+/);
  expect((await one('wide-characters')).output).toBe(`${'€'.repeat(3000)}\n`);
}

describe('hostile step output on one node', () => {
  const one = useTestNode({ QUEUE_CONCURRENCY: '5' });

  it(
    'records every task of the batch, whatever its steps printed',
    { timeout: 120_000 },
    async () => {
      const ids = await enqueueAll(one.node.url);
      await expectRecorded(one.node, ids);
      const stats = (await one.node.client.queueStats()) as unknown as Record<string, number>;
      expect(stats.active_tasks).toBe(0);
      expect(stats.queue_size).toBe(0);
    },
  );
});

describe.skipIf(!onPostgres)(
  `hostile step output on two nodes (${onPostgres ? 'PostgreSQL' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    let database: TestDatabase;
    let nodes: TestServer[] = [];
    beforeAll(async () => {
      database = await createTestDatabase();
      nodes = [
        await startTestServer(database, { QUEUE_CONCURRENCY: '4' }),
        await startTestServer(database, { QUEUE_CONCURRENCY: '4' }),
      ];
    });
    afterAll(async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await database?.drop();
    });

    it('records every task once, whichever node ran it', { timeout: 120_000 }, async () => {
      const ids = await enqueueAll(nodes[0]!.url);
      await expectRecorded(nodes[0]!, ids);
    });

    it('a wide-character output larger than a NOTIFY payload reaches a watcher on another node whole', async () => {
      // Either node may claim the task: each watches the other's events, and the one that did
      // not run it is the watcher.
      const remote = nodes.map(() => [] as TaskEvent[]);
      const unsubscribe = nodes.map((node, i) =>
        node.server.services.events.subscribe((event, local) => {
          if (!local) remote[i]!.push(event);
        }),
      );
      try {
        const { body } = await postSpec(nodes[0]!.url, specYaml('wide', [EURO_LINE]));
        const taskId = body.task_id as string;
        const events = await waitFor(
          () =>
            remote.find((seen) =>
              seen.some(
                (e) => e.type === 'task.status' && e.task_id === taskId && e.status === 'completed',
              ),
            ),
          { what: 'the task to complete, seen from the other node', timeoutMs: 45_000 },
        );
        const output = events.flatMap((e) =>
          e.type === 'step.output' && e.task_id === taskId ? [e] : [],
        );
        expect(output.map((e) => e.text).join('')).toBe(`${'€'.repeat(3000)}\n`);
        expect(output.reduce((n, e) => n + e.skipped, 0)).toBe(0);
      } finally {
        for (const stop of unsubscribe) stop();
      }
    });

    it('an event too large to split is sent by reference and arrives intact', async () => {
      const [sender, watcher] = nodes as [TestServer, TestServer];
      const received: TaskEvent[] = [];
      const unsubscribe = watcher.server.services.events.subscribe((event, local) => {
        if (!local) received.push(event);
      });
      const big: TaskEvent = {
        type: 'task.status',
        task_id: 'task-by-reference',
        app_name: 'x',
        status: 'failed',
        attempt: 1,
        error_message: '\u0001€'.repeat(4_000),
        at: new Date().toISOString(),
      };
      try {
        sender.server.services.events.publish(big);
        await waitFor(() => received.find((e) => e.task_id === 'task-by-reference'), {
          what: 'the large event on the other node',
        });
        expect(received.filter((e) => e.task_id === 'task-by-reference')).toEqual([big]);
      } finally {
        unsubscribe();
      }
    });
  },
);
