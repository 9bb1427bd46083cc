// Load and soak: many tasks from 50 concurrent clients while three nodes process them and one of
// them is killed (SIGKILL) and restarted twice. Afterwards every acknowledged task is in the
// table once and finished once, and the stats equal the table's counts. CI runs 2,000 tasks;
// SOAK_TASKS=20000 runs the full size. Needs PostgreSQL (several processes).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/serverProcess.js';
import {
  createTestDatabase,
  onPostgres,
  POSTGRES_ONLY_MESSAGE,
  type TestDatabase,
} from '../helpers/testDatabase.js';
import { getJson, postSpec } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const TASKS = Number(process.env.SOAK_TASKS ?? 2_000);
const CLIENTS = 50;
// Short leases so the killed node's tasks come back quickly.
const FAST_RECOVERY = {
  LEASE_DURATION: '3',
  HEARTBEAT_INTERVAL: '1',
  RECOVERY_INTERVAL: '1',
};

let database: TestDatabase | undefined;
const nodes: ServerProcess[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-soak-'));
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  await database?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!onPostgres)(
  `load with node kills (${onPostgres ? `${TASKS} tasks` : POSTGRES_ONLY_MESSAGE})`,
  () => {
    it('loses nothing, finishes everything once, and keeps the stats equal to the table', async () => {
      database = await createTestDatabase();
      const start = () => {
        const node = startServerProcess({ ...database!.env, ...FAST_RECOVERY });
        nodes.push(node);
        return node;
      };
      const stable = [start(), start()];
      let victim = start();
      const urls = await Promise.all([...stable, victim].map((n) => n.url()));
      const file = path.join(dir, 'ran.log');
      const spec = JSON.stringify({
        apiVersion: 'score.dev/v1b1',
        metadata: { name: 'soak-app' },
        containers: { web: { image: 'nginx' } },
        workflow: {
          steps: [
            {
              name: 'work',
              type: 'bash',
              config: { command: `sleep 0.05; echo "$TASK_ID" >> ${file}` },
            },
          ],
        },
      });

      const acknowledged: string[] = [];
      let next = 0;
      let refusedWhileDown = 0;
      const clients = Array.from({ length: CLIENTS }, async (_, c) => {
        while (next < TASKS) {
          next += 1;
          // Clients talk to the two stable nodes; the victim only works.
          const response = await postSpec(urls[c % 2]!, spec, {
            contentType: 'application/json',
          }).catch(() => undefined);
          if (response?.status === 202) acknowledged.push(response.body.task_id as string);
          else refusedWhileDown += 1;
        }
      });

      // Kill the victim twice while the load runs, restarting it each time.
      const killer = (async () => {
        for (const share of [0.3, 0.6]) {
          await waitFor(() => acknowledged.length >= TASKS * share, {
            what: `${share * 100}% enqueued`,
            timeoutMs: 120_000,
          });
          await waitFor(
            async () => (await getJson(urls[0]!, '/api/queue/stats')).body.active_tasks > 0,
            {
              what: 'tasks running',
            },
          );
          await victim.stop('SIGKILL');
          victim = start();
          await victim.url();
        }
      })();
      await Promise.all([...clients, killer]);
      expect(refusedWhileDown).toBe(0);

      await waitFor(
        async () => {
          const stats = (await getJson(urls[0]!, '/api/queue/stats')).body;
          return (
            stats.queue_size === 0 &&
            stats.active_tasks === 0 &&
            stats.tasks_completed === acknowledged.length
          );
        },
        { what: 'every task to complete', timeoutMs: 300_000, intervalMs: 250 },
      );

      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const rows = (
          await client.query<{ task_id: string; status: string; lost_count: number }>(
            'SELECT task_id, status, lost_count FROM queue_tasks',
          )
        ).rows;
        // Every acknowledged task is in the table exactly once, and nothing else is.
        expect(rows).toHaveLength(acknowledged.length);
        expect(new Set(rows.map((r) => r.task_id))).toEqual(new Set(acknowledged));
        // Each ended once: completed, with the result written by the attempt that held it.
        expect(rows.every((r) => r.status === 'completed')).toBe(true);
        // Steps run at least once; twice only for a task whose node was killed under it.
        const runs = new Map<string, number>();
        for (const id of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean))
          runs.set(id, (runs.get(id) ?? 0) + 1);
        const lost = new Set(rows.filter((r) => r.lost_count > 0).map((r) => r.task_id));
        for (const id of acknowledged) expect(runs.get(id) ?? 0, id).toBeGreaterThanOrEqual(1);
        for (const [id, count] of runs)
          if (count > 1) expect(lost.has(id), `${id} ran ${count} times`).toBe(true);
        // The stats equal the table's counts.
        const [counts] = (
          await client.query<{ total: number; completed: number }>(
            "SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'completed')::int AS completed FROM queue_tasks",
          )
        ).rows;
        const stats = (await getJson(urls[1]!, '/api/queue/stats')).body;
        expect(stats).toMatchObject({
          tasks_enqueued: counts!.total,
          tasks_completed: counts!.completed,
          tasks_failed: 0,
          queue_size: 0,
          active_tasks: 0,
        });
      } finally {
        await client.end();
      }
    }, 600_000);
  },
);
