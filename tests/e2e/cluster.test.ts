// Several server processes on one PostgreSQL form one queue: every task runs exactly once, a node
// killed with SIGKILL loses nothing, a draining node hands its tasks over, the cluster survives a
// database restart, cancel reaches the node that runs a task, and an idempotency key holds under
// concurrency. Needs PostgreSQL (TEST_DATABASE_URL); skipped on PGlite, which serves one process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/serverProcess.js';
import {
  createTestDatabase,
  onPostgres,
  POSTGRES_ONLY_MESSAGE,
  type TestDatabase,
} from '../helpers/testDatabase.js';
import { privatePostgresUnavailable, startPrivatePostgres } from '../helpers/privatePostgres.js';
import { getJson, postSpec, TOKEN } from '../helpers/testServer.js';
import { isAlive, STEP_SERVER_PID } from '../helpers/processes.js';
import { waitFor } from '../helpers/waitFor.js';

let workDir: string;
let database: TestDatabase | undefined;
let nodes: ServerProcess[] = [];

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-cluster-'));
});
afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  nodes = [];
  await database?.drop();
  database = undefined;
});

function node(env: Record<string, string> = {}): ServerProcess {
  const started = startServerProcess({ ...database!.env, LOG_LEVEL: 'info', ...env });
  nodes.push(started);
  return started;
}

function specJson(name: string, command: string): string {
  return JSON.stringify({
    apiVersion: 'score.dev/v1b1',
    metadata: { name },
    containers: { web: { image: 'nginx' } },
    workflow: { steps: [{ name: 'work', type: 'bash', config: { command } }] },
  });
}

async function enqueue(
  url: string,
  name: string,
  command: string,
  headers: Record<string, string> = {},
) {
  const response = await postSpec(url, specJson(name, command), {
    contentType: 'application/json',
    headers,
  });
  expect([200, 202]).toContain(response.status);
  return response;
}

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: database!.url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const lines = (file: string) =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];

describe.skipIf(!onPostgres)(
  `a cluster of nodes on PostgreSQL (${onPostgres ? 'running' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    it('runs each of 1,000 tasks enqueued through three nodes exactly once', async () => {
      database = await createTestDatabase();
      // What is under test is the queue, not the step sandbox: without it, a thousand bash steps
      // fork a third as many processes on a two-core CI machine.
      const plain = { STEP_SANDBOX: 'off' };
      const urls = await Promise.all([node(plain), node(plain), node(plain)].map((n) => n.url()));
      const file = path.join(workDir, 'exactly-once.log');
      const acknowledged = new Set<string>();
      let next = 0;
      await Promise.all(
        Array.from({ length: 24 }, async () => {
          while (next < 1_000) {
            const i = next++;
            const { body } = await enqueue(
              urls[i % 3]!,
              `app-${i % 7}`,
              `echo "$TASK_ID" >> ${file}`,
            );
            acknowledged.add(body.task_id as string);
          }
        }),
      );
      expect(acknowledged.size).toBe(1_000);
      await waitFor(
        async () => (await getJson(urls[1]!, '/api/queue/stats')).body.tasks_completed === 1_000,
        {
          what: '1,000 completed tasks',
          timeoutMs: 120_000,
          intervalMs: 250,
        },
      );
      const ran = lines(file);
      expect(ran).toHaveLength(1_000);
      expect(new Set(ran)).toEqual(acknowledged);
      // Each counted one attempt and none was lost. A claim made ahead of free slots and given
      // back unstarted (its hold ran out on this busy machine) moves attempt_base with attempts;
      // that stays rare (a few per thousand here).
      const [row] = await query<{ n: number; counted: number; lost: number; given_back: number }>(
        `SELECT count(*)::int AS n, max(attempts - attempt_base) AS counted,
                max(lost_count) AS lost, count(*) FILTER (WHERE attempt_base > 0)::int AS given_back
         FROM queue_tasks WHERE status = 'completed'`,
      );
      expect(row).toMatchObject({ n: 1_000, counted: 1, lost: 0 });
      expect(row!.given_back).toBeLessThan(50);
      // All three nodes did work.
      const stats = (await getJson(urls[2]!, '/api/queue/stats')).body;
      expect(stats).toMatchObject({
        workers: 15,
        queue_size: 0,
        active_tasks: 0,
        tasks_enqueued: 1_000,
      });
    }, 180_000);

    it('a task enqueued on an API-only node starts at once on an idle worker node (NOTIFY)', async () => {
      database = await createTestDatabase();
      const api = node({ QUEUE_CONCURRENCY: '0' });
      // With a one-minute poll, only a notification can start the task quickly.
      const worker = node({ POLL_INTERVAL: '60' });
      const [apiUrl] = await Promise.all([api.url(), worker.url()]);
      await api.waitForLog(/API-only node/);
      const { body } = await enqueue(apiUrl, 'notify-app', 'true');
      await waitFor(
        async () =>
          (await query<{ status: string }>('SELECT status FROM queue_tasks'))[0]?.status ===
          'completed',
        {
          what: 'the task to complete',
          timeoutMs: 10_000,
        },
      );
      const [row] = await query<{ wait_ms: number }>(
        'SELECT extract(epoch FROM started_at - enqueued_at)::float8 * 1000 AS wait_ms FROM queue_tasks WHERE task_id = $1',
        [body.task_id],
      );
      expect(row!.wait_ms).toBeLessThan(1_000);
      expect(
        worker.lines().some((l) => l.msg === 'task started' && l.taskId === body.task_id),
      ).toBe(true);
    });

    it('recovers the tasks of a node killed with SIGKILL on other nodes within 15 s (default lease)', async () => {
      database = await createTestDatabase();
      const victim = node();
      const victimUrl = await victim.url();
      const file = path.join(workDir, 'sigkill.log');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { body } = await enqueue(
          victimUrl,
          `long-${i}`,
          `until [ -e ${file}.go ]; do sleep 0.1; done; echo "$TASK_ID ${STEP_SERVER_PID}" >> ${file}`,
        );
        ids.push(body.task_id as string);
      }
      await waitFor(
        async () => (await getJson(victimUrl, '/api/queue/active-tasks')).body.count === 5,
        {
          what: 'the victim to run all five',
        },
      );
      const survivors = [node(), node()];
      const survivorUrls = await Promise.all(survivors.map((s) => s.url()));
      await victim.stop('SIGKILL');
      const killedAt = Date.now();
      // The steps end once the survivors run all five: none can finish on the victim, however
      // slowly the survivors start (its own steps died with it, by their watchdog).
      await waitFor(
        async () =>
          (
            await query<{ n: number }>(
              "SELECT count(*)::int AS n FROM queue_tasks WHERE status = 'running' AND started_at > $1",
              [new Date(killedAt)],
            )
          )[0]!.n === 5,
        { what: 'the survivors to run the five tasks', timeoutMs: 40_000, intervalMs: 200 },
      );
      fs.writeFileSync(`${file}.go`, '');
      await waitFor(
        async () =>
          (await getJson(survivorUrls[0]!, '/api/queue/stats')).body.tasks_completed === 5,
        {
          what: 'the five tasks to complete elsewhere',
          timeoutMs: 40_000,
          intervalMs: 200,
        },
      );
      const rows = await query<{
        task_id: string;
        status: string;
        started_at: Date;
        lost_count: number;
        errors: unknown[];
      }>(
        'SELECT task_id, status, started_at, lost_count, errors FROM queue_tasks ORDER BY task_id',
      );
      for (const row of rows) {
        expect(row.status).toBe('completed');
        expect(row.lost_count).toBe(1);
        expect(JSON.stringify(row.errors)).toContain('worker lost');
        // Started again on a survivor within the recovery bound.
        expect(row.started_at.getTime() - killedAt).toBeLessThan(15_000);
      }
      // The killed node's own step processes died with it (the watchdog): every task ran to its end
      // once, on a survivor.
      const ran = lines(file).map((l) => l.split(' '));
      expect(ran.map(([id]) => id).sort()).toEqual([...ids].sort());
      const survivorPids = new Set(survivors.map((s) => String(s.child.pid)));
      for (const [, pid] of ran) expect(survivorPids.has(pid!)).toBe(true);
    });

    it('a draining node (SIGTERM) hands unfinished tasks back; another node completes them', async () => {
      database = await createTestDatabase();
      const draining = node({ SHUTDOWN_TIMEOUT: '1' });
      const url = await draining.url();
      const marker = path.join(workDir, 'drain-marker');
      const file = path.join(workDir, 'drain.log');
      for (let i = 0; i < 3; i++) {
        await enqueue(
          url,
          `drain-${i}`,
          `[ -e ${marker} ] || sleep 60; echo "$TASK_ID ${STEP_SERVER_PID}" >> ${file}`,
        );
      }
      await waitFor(async () => (await getJson(url, '/api/queue/active-tasks')).body.count === 3, {
        what: 'three running',
      });
      const taker = node();
      const takerUrl = await taker.url();
      fs.writeFileSync(marker, '');
      expect(await draining.stop('SIGTERM')).toBe(0);
      expect(draining.output()).toContain('handing unfinished tasks back');
      await waitFor(
        async () => (await getJson(takerUrl, '/api/queue/stats')).body.tasks_completed === 3,
        {
          what: 'the handed-back tasks to complete',
        },
      );
      const rows = await query<{ used: number; status: string }>(
        'SELECT attempts - attempt_base AS used, status FROM queue_tasks',
      );
      // Handing back does not use up an attempt.
      expect(rows.every((r) => r.status === 'completed' && r.used === 1)).toBe(true);
      expect(new Set(lines(file).map((l) => l.split(' ')[1]))).toEqual(
        new Set([String(taker.child.pid)]),
      );
      const registered = await query<{ id: string }>('SELECT id FROM queue_nodes');
      expect(registered).toHaveLength(1); // the drained node removed itself
    });

    it('cancels a task running on another node: its process is gone', async () => {
      database = await createTestDatabase();
      const api = node({ QUEUE_CONCURRENCY: '0' });
      const worker = node();
      const [apiUrl] = await Promise.all([api.url(), worker.url()]);
      const pidFile = path.join(workDir, 'cancel.pid');
      const { body } = await enqueue(
        apiUrl,
        'cancel-app',
        `sleep 300 & echo $! > ${pidFile}; wait`,
      );
      const pid = await waitFor(
        () =>
          fs.existsSync(pidFile)
            ? Number(fs.readFileSync(pidFile, 'utf8')) || undefined
            : undefined,
        {
          what: 'the step to start',
        },
      );
      expect(isAlive(pid)).toBe(true);
      const started = Date.now();
      const response = await fetch(`${apiUrl}/api/queue/tasks/${String(body.task_id)}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(await response.json()).toMatchObject({ status: 'cancelled' });
      expect(Date.now() - started).toBeLessThan(3_000);
      await waitFor(() => !isAlive(pid), { what: `process ${pid} to be gone`, timeoutMs: 5_000 });
      expect((await query<{ status: string }>('SELECT status FROM queue_tasks'))[0]?.status).toBe(
        'cancelled',
      );
    });

    it('twenty concurrent enqueues with one idempotency key create one task', async () => {
      database = await createTestDatabase();
      const urls = await Promise.all(
        [node({ QUEUE_CONCURRENCY: '0' }), node({ QUEUE_CONCURRENCY: '0' })].map((n) => n.url()),
      );
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          enqueue(urls[i % 2]!, 'idem-app', 'true', { 'idempotency-key': 'deploy-42' }),
        ),
      );
      expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
      expect(responses.filter((r) => r.status === 200)).toHaveLength(19);
      expect(new Set(responses.map((r) => JSON.stringify(r.body))).size).toBe(1);
      expect(await query('SELECT 1 FROM queue_tasks')).toHaveLength(1);
      // After 24 hours the key starts a new task.
      await query("UPDATE queue_tasks SET enqueued_at = now() - interval '25 hours'");
      const later = await enqueue(urls[0]!, 'idem-app', 'true', { 'idempotency-key': 'deploy-42' });
      expect(later.status).toBe(202);
      expect(later.body.task_id).not.toBe(responses[0]!.body.task_id);
    });
  },
);

describe.skipIf(!onPostgres)(
  `a PostgreSQL restart under a running cluster (${onPostgres ? 'running' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    it('the nodes reconnect and every task finishes; none is left running', async (context) => {
      const unavailable = await privatePostgresUnavailable();
      if (unavailable) context.skip(`cannot start a private PostgreSQL here: ${unavailable}`);
      const server = await startPrivatePostgres();
      try {
        database = {
          env: { DATABASE_URL: server.url },
          url: server.url,
          drop: () => Promise.resolve(),
        };
        const urls = await Promise.all([node(), node()].map((n) => n.url()));
        const file = path.join(workDir, 'restart.log');
        for (let i = 0; i < 40; i++)
          await enqueue(urls[i % 2]!, `restart-${i % 4}`, `sleep 0.5; echo "$TASK_ID" >> ${file}`);
        await waitFor(
          async () => (await getJson(urls[0]!, '/api/queue/stats')).body.tasks_completed >= 5,
          {
            what: 'some progress',
          },
        );
        await server.stop();
        // While the database is down, enqueue fails cleanly and nothing is lost.
        const during = await postSpec(urls[0]!, specJson('during-outage', 'true'), {
          contentType: 'application/json',
        });
        expect(during.status).toBe(503);
        await new Promise((r) => setTimeout(r, 2_000));
        await server.start();
        await waitFor(
          async () => {
            const stats = await getJson(urls[1]!, '/api/queue/stats');
            return stats.status === 200 && stats.body.tasks_completed === 40;
          },
          {
            what: 'all forty tasks to complete after the restart',
            timeoutMs: 60_000,
            intervalMs: 250,
          },
        );
        const rows = await query<{ status: string; n: number }>(
          'SELECT status, count(*)::int AS n FROM queue_tasks GROUP BY status',
        );
        expect(rows).toEqual([{ status: 'completed', n: 40 }]);
        expect(new Set(lines(file)).size).toBe(40);
        await expect(
          nodes[0]!.waitForLog(/LISTEN connection restored/, 10_000),
        ).resolves.toBeDefined();
      } finally {
        await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
        nodes = [];
        database = undefined;
        await server.destroy();
      }
    });
  },
);
