// A node recovers its own task once the lease has expired (the node has stopped the run by then),
// and recovery is announced like any other change: the run is killed, the recovered counter and a
// task.status event go out, the task runs again; and a task stream ends when recovery ends the task.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../shared/events.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import {
  postSpec,
  specYaml,
  startTestServer,
  TOKEN,
  type TestServer,
} from '../helpers/testServer.js';
import { isAlive } from '../helpers/processes.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase;
let node: TestServer;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-recovery-'));
  database = await createTestDatabase();
  node = await startTestServer(database, {
    LEASE_DURATION: '3',
    HEARTBEAT_INTERVAL: '0.3',
    RECOVERY_INTERVAL: '0.3',
    LOST_WORKER_RETRIES: '1',
    STEP_SANDBOX: 'off',
  });
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A step that records its pid, then waits for `marker`. */
const waiting = (marker: string) =>
  `echo $$ >> ${dir}/$TASK_ID.pids; until [ -e ${marker} ]; do sleep 0.05; done`;

const pids = (taskId: string): number[] => {
  const file = path.join(dir, `${taskId}.pids`);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map(Number) : [];
};

async function expireLease(taskId: string): Promise<void> {
  await node.server.services.database.query(
    "UPDATE queue_tasks SET lease_expires_at = now() - interval '1 second' WHERE task_id = $1",
    [taskId],
  );
}

async function recoveredTotal(): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/^queue_tasks_recovered_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
}

describe('recovery of a node’s own expired tasks', () => {
  it('kills the old run, announces the recovery and runs the task again', async () => {
    const marker = path.join(dir, 'go-1');
    const events: TaskEvent[] = [];
    const unsubscribe = node.server.services.events.subscribe((e) => events.push(e));
    try {
      const before = await recoveredTotal();
      const { body } = await postSpec(node.url, specYaml('recover-app', [waiting(marker)]));
      const taskId = body.task_id as string;
      await waitFor(() => pids(taskId).length === 1, { what: 'the first run' });
      const [first] = pids(taskId);
      await expireLease(taskId);
      await waitFor(() => pids(taskId).length === 2, { what: 'a second run', timeoutMs: 10_000 });
      // The lease was moved into the past behind the node's back, so recovery (every 0.3 s) may
      // give the task back before the node's next renewal (every 0.3 s) finds the lease gone and
      // kills the first run: the two may overlap for a moment here, which a lease that runs out
      // on its own does not allow (the node stops its runs before their leases end).
      await waitFor(() => !isAlive(first!), {
        what: 'the first run to be killed',
        timeoutMs: 5_000,
      });
      expect(await recoveredTotal()).toBe(before + 1);
      expect(
        events.some(
          (e) => e.type === 'task.status' && e.task_id === taskId && e.status === 'pending',
        ),
      ).toBe(true);
      fs.writeFileSync(marker, '');
      await waitFor(
        () =>
          events.find(
            (e) => e.type === 'task.status' && e.task_id === taskId && e.status === 'completed',
          ),
        { what: 'the task to complete' },
      );
      const [row] = await node.server.services.database.query<{
        attempts: number;
        lost_count: number;
      }>('SELECT attempts, lost_count FROM queue_tasks WHERE task_id = $1', [taskId]);
      expect(row).toEqual({ attempts: 2, lost_count: 1 });
      expect(node.logs().some((l) => l.msg === 'lease lost: killing the run')).toBe(true);
    } finally {
      unsubscribe();
    }
  });

  it('a task stream ends when recovery ends its task', async () => {
    const marker = path.join(dir, 'never');
    const { body } = await postSpec(node.url, specYaml('recover-ends', [waiting(marker)]));
    const taskId = body.task_id as string;
    await waitFor(() => pids(taskId).length === 1, { what: 'the first run' });
    const controller = new AbortController();
    const response = await fetch(`${node.url}/api/queue/events?task_id=${taskId}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: controller.signal,
    });
    let text = '';
    const ended = (async () => {
      const reader = response.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += new TextDecoder().decode(value);
      }
    })();
    try {
      // Lost twice: LOST_WORKER_RETRIES=1 gives it back once, then recovery fails it.
      await expireLease(taskId);
      await waitFor(() => pids(taskId).length === 2, { what: 'a second run', timeoutMs: 10_000 });
      await expireLease(taskId);
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        ended,
        new Promise((resolve) => (timer = setTimeout(() => resolve('still open'), 15_000))),
      ]);
      clearTimeout(timer);
      expect(result).not.toBe('still open');
      expect(text).toContain('"status":"failed"');
      expect(text).toContain('worker lost');
    } finally {
      controller.abort();
      await ended.catch(() => undefined);
    }
  });
});
