// A node claims tasks ahead of its free slots while its tasks finish quickly (QUEUE_PREFETCH), so
// a freed slot starts the next task without a round trip. The workflows here are stand-ins the
// test controls (the worker's `run`), so when a task ends is the test's to decide; what is
// asserted is the table: each task recorded once, a task claimed ahead and never started goes
// back uncounted (hold expired, node stopping) or ends (cancel), and never runs after its lease.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueWorker } from '../../server/queue/worker.js';
import type { ClaimedTask, TaskOutcome } from '../../server/queue/types.js';
import { TOKEN, useApiOnlyNode } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const api = useApiOnlyNode();
const workers: QueueWorker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop(1_000)));
  // A test may leave tasks behind (given back, or held by a made-up node): not the next one's.
  await api.db.query(`DELETE FROM queue_tasks WHERE status IN ('pending', 'running')`);
});

interface Row {
  app_name: string;
  status: string;
  attempts: number;
  attempt_base: number;
  lost_count: number;
  locked_by: string | null;
  started_at: Date | null;
  /** started_at to the microsecond (a Date keeps milliseconds: two claims may share one). */
  started_key: string | null;
  error_message: string | null;
}

const rows = async (prefix: string) =>
  new Map(
    (
      await api.db.query<Row>(
        `SELECT app_name, status, attempts, attempt_base, lost_count, locked_by, started_at,
                started_at::text AS started_key, error_message
         FROM queue_tasks WHERE app_name LIKE $1 || '%' ORDER BY id`,
        [prefix],
      )
    ).map((r) => [r.app_name, r]),
  );

/** Enqueues one empty workflow per name, in one request (one transaction, one wake-up). */
async function enqueue(names: string[]): Promise<void> {
  const response = await fetch(`${api.node.url}/api/specs/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      specs: names.map((name) => ({
        spec: {
          apiVersion: 'score.dev/v1b1',
          metadata: { name },
          containers: { web: { image: 'nginx:latest' } },
          workflow: { steps: [] },
        },
      })),
    }),
  });
  expect(response.status).toBe(202);
}

const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

/**
 * A worker whose tasks are stand-ins: a task named `*slow*` runs until `release()` (or until it is
 * stopped), any other ends at the next turn of the event loop. Counts starts and overlap.
 */
function startWorker(options: { concurrency: number; prefetch: number; aheadHoldMs?: number }) {
  const started = new Map<string, number>();
  const returned: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  let release: () => void = () => undefined;
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const gate = new Promise<void>((resolve) => (release = resolve));
  const run = async (task: ClaimedTask, signal: AbortSignal): Promise<TaskOutcome> => {
    started.set(task.appName, (started.get(task.appName) ?? 0) + 1);
    mostAtOnce = Math.max(mostAtOnce, ++running);
    try {
      const stopped = new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => resolve()),
      );
      await Promise.race([
        task.appName.includes('slow') ? gate : new Promise((r) => setImmediate(r)),
        stopped,
      ]);
      if (signal.aborted) {
        return signal.reason === 'cancel'
          ? { kind: 'cancelled', error: 'cancelled' }
          : { kind: 'released' };
      }
      return { kind: 'completed' };
    } finally {
      running--;
    }
  };
  const worker = new QueueWorker({
    database: api.db,
    nodeId: `claim-ahead-${workers.length}-${Date.now()}`,
    concurrency: options.concurrency,
    prefetch: options.prefetch,
    aheadHoldMs: options.aheadHoldMs,
    leaseMs: 10_000,
    heartbeatMs: 200,
    recoveryIntervalMs: 60_000,
    pollIntervalMs: 100,
    maxLost: 3,
    appLimit: 0,
    retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
    logger: pino({ level: 'info' }, sink),
    run,
    onTaskReturned: (task) => returned.push(task.appName),
  });
  workers.push(worker);
  return {
    worker,
    started,
    returned,
    release: () => release(),
    logs: () => logs,
    get mostAtOnce() {
      return mostAtOnce;
    },
  };
}

/**
 * A worker with one slot that claims up to five ahead, after ten quick tasks (named `prefix-…`)
 * taught it that claiming ahead is worth it.
 */
async function startWarmWorker(prefix: string, aheadHoldMs: number) {
  const node = startWorker({ concurrency: 1, prefetch: 5, aheadHoldMs });
  await node.worker.start();
  await enqueue(names(prefix, 10));
  await waitFor(allCompleted(prefix, 10), { what: 'the quick tasks to complete' });
  return node;
}

/** Waits until every task whose name starts with `prefix` is claimed. */
const allClaimed = (prefix: string) =>
  waitFor(async () => [...(await rows(prefix)).values()].every((r) => r.status === 'running'), {
    what: `the ${prefix}… tasks to be claimed`,
  });

const allCompleted = (prefix: string, n: number) => async () => {
  const r = await rows(prefix);
  return r.size === n && [...r.values()].every((row) => row.status === 'completed') && r;
};

/** The most tasks one claim statement took (a claim stamps its tasks' started_at). */
function largestClaim(r: Map<string, Row>): number {
  const perClaim = new Map<string, number>();
  for (const row of r.values()) {
    const at = row.started_key!;
    perClaim.set(at, (perClaim.get(at) ?? 0) + 1);
  }
  return Math.max(...perClaim.values());
}

describe('claiming ahead of free slots', () => {
  it('claims more than its free slots while tasks finish quickly, runs no more than its concurrency, and records each task once', async () => {
    await enqueue(names('fast', 120));
    const node = startWorker({ concurrency: 2, prefetch: 10 });
    await node.worker.start();
    const r = await waitFor(allCompleted('fast', 120), { what: '120 tasks to complete' });

    expect(node.mostAtOnce).toBeLessThanOrEqual(2);
    expect([...node.started.values()].every((n) => n === 1)).toBe(true);
    expect(node.started.size).toBe(120);
    for (const row of r.values()) {
      expect([row.attempts, row.attempt_base, row.lost_count]).toEqual([1, 0, 0]);
    }
    // Two slots and ten ahead: once the first tasks ended, claims took up to twelve.
    expect(largestClaim(r)).toBeGreaterThan(2);
    expect(largestClaim(r)).toBeLessThanOrEqual(12);
  });

  it('claims no more than its free slots with QUEUE_PREFETCH=0', async () => {
    await enqueue(names('plain', 40));
    const node = startWorker({ concurrency: 2, prefetch: 0 });
    await node.worker.start();
    const r = await waitFor(allCompleted('plain', 40), { what: '40 tasks to complete' });
    expect(largestClaim(r)).toBeLessThanOrEqual(2);
    expect(node.started.size).toBe(40);
  });

  it('hands a task back, uncounted and never started, when no slot takes it within the hold; then claims none ahead', async () => {
    const node = await startWarmWorker('warm', 150);

    await enqueue(names('slow', 3));
    // One slot, held by the first slow task; the others were claimed ahead and go back. The node
    // hears of the write after it commits: the table can show it first.
    await waitFor(
      async () =>
        [...(await rows('slow')).values()].filter((r) => r.attempt_base > 0).length === 2 &&
        node.returned.length >= 2,
      { what: 'two slow tasks to be handed back' },
    );
    expect(node.started.get('slow-000')).toBe(1);
    expect(node.started.has('slow-001') || node.started.has('slow-002')).toBe(false);
    // Given back without a word to watchers: they never saw the two leave `pending`.
    expect(node.returned.sort()).toEqual(['slow-001', 'slow-002']);

    node.release();
    const r = await waitFor(allCompleted('slow', 3), { what: 'the slow tasks to complete' });
    for (const row of r.values()) {
      // Each counted one attempt; a handed-back claim moved attempt_base, once (no churn).
      expect(row.attempts - row.attempt_base).toBe(1);
      expect(row.attempt_base).toBeLessThanOrEqual(1);
      expect(row.lost_count).toBe(0);
    }
    expect([...node.started].filter(([app]) => app.startsWith('slow'))).toEqual([
      ['slow-000', 1],
      ['slow-001', 1],
      ['slow-002', 1],
    ]);
    expect(node.mostAtOnce).toBe(1);
  });

  it('ends a task cancelled while it waits ahead without running it', async () => {
    const node = await startWarmWorker('warm-c', 60_000);
    await enqueue(['c-slow', 'c-waiting']);
    await allClaimed('c-');
    const [waiting] = await api.db.query<{ task_id: string }>(
      `SELECT task_id FROM queue_tasks WHERE app_name = 'c-waiting'`,
    );
    const response = await fetch(`${api.node.url}/api/queue/tasks/${waiting!.task_id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBeLessThan(300);
    const cancelled = await waitFor(
      async () => {
        const row = (await rows('c-waiting')).get('c-waiting')!;
        return row.status === 'cancelled' && row;
      },
      { what: 'the waiting task to be cancelled' },
    );
    expect(cancelled.error_message).toBe('cancelled before it started');
    expect(cancelled.locked_by).toBeNull();
    expect(node.started.has('c-waiting')).toBe(false);
    node.release();
    await waitFor(async () => (await rows('c-slow')).get('c-slow')!.status === 'completed', {
      what: 'the slow task to complete',
    });
  });

  it('hands back the tasks waiting ahead when the node stops', async () => {
    const node = await startWarmWorker('warm-s', 60_000);
    await enqueue(names('s-slow', 3));
    await allClaimed('s-slow');
    await node.worker.stop(200);
    const r = await rows('s-slow');
    for (const row of r.values()) {
      // Back to pending, and neither the one stopped nor those never started used an attempt.
      expect([row.status, row.locked_by, row.attempts - row.attempt_base]).toEqual([
        'pending',
        null,
        0,
      ]);
    }
    expect([...node.started.keys()].filter((app) => app.startsWith('s-slow'))).toEqual([
      's-slow-000',
    ]);
  });

  it('never starts a task waiting ahead once another node holds it', async () => {
    const node = await startWarmWorker('warm-l', 60_000);
    await enqueue(['l-slow', 'l-taken']);
    await allClaimed('l-');
    // As if its lease had expired and another node had recovered and claimed it.
    await api.db.query(
      `UPDATE queue_tasks SET locked_by = 'another-node', attempts = attempts + 1
       WHERE app_name = 'l-taken'`,
    );
    // The next heartbeat finds the lease gone: the run is dropped (its hand-back is fenced).
    await waitFor(
      () => node.logs().some((l) => l.msg === 'stopping task' && l.reason === 'lease-lost'),
      { what: 'the heartbeat to find the lease gone' },
    );
    node.release();
    await waitFor(async () => (await rows('l-slow')).get('l-slow')!.status === 'completed', {
      what: 'the slow task to complete',
    });
    const taken = (await rows('l-taken')).get('l-taken')!;
    expect([taken.status, taken.locked_by]).toEqual(['running', 'another-node']);
    expect(node.started.has('l-taken')).toBe(false);
  });
});
