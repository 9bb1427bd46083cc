// Nodes cut off while alive. A node whose connection to PostgreSQL stops forwarding (a proxy the
// test controls: nothing is refused, nothing answers) kills its runs before another node may take
// them, claims nothing, and rejoins when the network heals; no task runs on two nodes at once. A
// node stopped with SIGSTOP past its lease kills its old runs as soon as it runs again. A claim
// that lands after SIGTERM is handed back, not started. Needs PostgreSQL (several processes).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPausableProxy, type PausableProxy } from '../helpers/pausableProxy.js';
import { isAlive, STEP_SERVER_PID } from '../helpers/processes.js';
import { startServerProcess, type ServerProcess } from '../helpers/serverProcess.js';
import {
  createTestDatabase,
  onPostgres,
  POSTGRES_ONLY_MESSAGE,
  type TestDatabase,
} from '../helpers/testDatabase.js';
import { getJson, postSpec, specYaml } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let dir: string;
let database: TestDatabase | undefined;
let proxy: PausableProxy | undefined;
let nodes: ServerProcess[] = [];

const FAST = {
  LEASE_DURATION: '3',
  HEARTBEAT_INTERVAL: '0.5',
  RECOVERY_INTERVAL: '0.5',
  POLL_INTERVAL: '0.5',
  LOG_LEVEL: 'info',
  STEP_SANDBOX: 'off',
};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-partition-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const n of nodes) if (n.child.signalCode === null) n.child.kill('SIGCONT');
  await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  nodes = [];
  await proxy?.close();
  proxy = undefined;
  await database?.drop();
  database = undefined;
});

function node(env: Record<string, string> = {}): ServerProcess {
  const started = startServerProcess({ ...database!.env, ...FAST, ...env });
  nodes.push(started);
  return started;
}

async function query<T>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: database!.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * A step that reports any other live run of its task (an overlap), records its pid and its node
 * (the server is its parent), waits for `marker`, and records that it ran to its end.
 */
function step(marker: string): string {
  return [
    `for f in ${dir}/runs/$TASK_ID.*; do [ -e "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && echo "$TASK_ID" >> ${dir}/overlaps; done`,
    `mkdir -p ${dir}/runs; echo $$ > ${dir}/runs/$TASK_ID.$$`,
    `until [ -e ${marker} ]; do sleep 0.05; done`,
    `echo "$TASK_ID ${STEP_SERVER_PID}" >> ${dir}/ends`,
  ].join('; ');
}

const runs = (taskId: string): number[] =>
  fs.existsSync(path.join(dir, 'runs'))
    ? fs
        .readdirSync(path.join(dir, 'runs'))
        .filter((f) => f.startsWith(`${taskId}.`))
        .map((f) => Number(f.slice(taskId.length + 1)))
    : [];
const lines = (name: string): string[] =>
  fs.existsSync(path.join(dir, name))
    ? fs.readFileSync(path.join(dir, name), 'utf8').trim().split('\n')
    : [];

async function enqueueWaiting(url: string, count: number, marker: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { body } = await postSpec(url, specYaml(`cut-${i}`, [step(marker)]));
    ids.push(body.task_id as string);
  }
  return ids;
}

async function allCompleted(ids: string[]): Promise<boolean> {
  const rows = await query<{ n: number }>(
    "SELECT count(*)::int AS n FROM queue_tasks WHERE task_id = ANY($1) AND status = 'completed'",
    [ids],
  );
  return rows[0]!.n === ids.length;
}

describe.skipIf(!onPostgres)(
  `nodes cut off while alive (${onPostgres ? 'running' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    it('a node cut off from PostgreSQL stops its runs before another node takes them, then rejoins', async () => {
      database = await createTestDatabase();
      const target = new URL(database.url!);
      proxy = await startPausableProxy({ host: target.hostname, port: Number(target.port) });
      const viaProxy = new URL(database.url!);
      viaProxy.port = String(proxy.port);
      const marker = path.join(dir, 'go-cut');
      const cutOff = node({ DATABASE_URL: viaProxy.toString(), QUEUE_CONCURRENCY: '3' });
      const cutOffUrl = await cutOff.url();
      const ids = await enqueueWaiting(cutOffUrl, 3, marker);
      await waitFor(() => ids.every((id) => runs(id).length === 1), { what: 'three runs' });
      const firstRuns = ids.map((id) => runs(id)[0]!);
      const other = node({ QUEUE_CONCURRENCY: '3' });
      await other.url();

      proxy.cut();
      await cutOff.waitForLog(/^no heartbeat answered within the lease/, 10_000);
      await waitFor(() => ids.every((id) => runs(id).length === 2), {
        what: 'the other node to run all three',
        timeoutMs: 20_000,
      });
      for (const pid of firstRuns) expect(isAlive(pid)).toBe(false);
      fs.writeFileSync(marker, '');
      await waitFor(() => allCompleted(ids), { what: 'the three tasks to complete' });
      expect(lines('overlaps')).toEqual([]);
      const ends = lines('ends');
      expect(ends.map((l) => l.split(' ')[0]).sort()).toEqual([...ids].sort());
      expect(new Set(ends.map((l) => l.split(' ')[1]))).toEqual(new Set([String(other.child.pid)]));
      expect(cutOff.lines().filter((l) => l.msg === 'lease lost: killing the run')).toHaveLength(3);

      // The network heals: the node rejoins and runs tasks again.
      proxy.heal();
      await cutOff.waitForLog(/^the database answers again/, 15_000);
      expect(await other.stop('SIGTERM')).toBe(0);
      const { body } = await postSpec(cutOffUrl, specYaml('after-heal', [step(marker)]));
      await waitFor(() => allCompleted([body.task_id as string]), {
        what: 'a task after the heal',
      });
      expect(lines('ends').at(-1)).toBe(`${body.task_id as string} ${cutOff.child.pid}`);
      const stuck = await query<{ n: number }>(
        "SELECT count(*)::int AS n FROM queue_tasks WHERE status <> 'completed'",
      );
      expect(stuck[0]!.n).toBe(0);
      const stats = (await getJson(cutOffUrl, '/api/queue/stats')).body as Record<string, number>;
      expect(stats).toMatchObject({ tasks_completed: 4, active_tasks: 0, queue_size: 0 });
    });

    it('a node stopped (SIGSTOP) past its lease kills its old runs as soon as it runs again', async () => {
      database = await createTestDatabase();
      const marker = path.join(dir, 'go-stop');
      const stalled = node({ QUEUE_CONCURRENCY: '2' });
      const ids = await enqueueWaiting(await stalled.url(), 2, marker);
      await waitFor(() => ids.every((id) => runs(id).length === 1), { what: 'two runs' });
      const oldRuns = ids.map((id) => runs(id)[0]!);
      const other = node({ QUEUE_CONCURRENCY: '2' });
      await other.url();
      stalled.child.kill('SIGSTOP');
      await waitFor(() => ids.every((id) => runs(id).length === 2), {
        what: 'the other node to take both tasks',
        timeoutMs: 20_000,
      });
      stalled.child.kill('SIGCONT');
      const resumed = Date.now();
      await waitFor(() => oldRuns.every((pid) => !isAlive(pid)), {
        what: 'the old runs to die',
        timeoutMs: 5_000,
        intervalMs: 20,
      });
      expect(Date.now() - resumed).toBeLessThan(3_000);
      fs.writeFileSync(marker, '');
      await waitFor(() => allCompleted(ids), { what: 'both tasks to complete' });
      const ends = lines('ends').filter((l) => ids.includes(l.split(' ')[0]!));
      // Each task ran to its end once, on the node that took it over.
      expect(ends.map((l) => l.split(' ')[0]).sort()).toEqual([...ids].sort());
      expect(new Set(ends.map((l) => l.split(' ')[1]))).toEqual(new Set([String(other.child.pid)]));
      const rows = await query<{ lost_count: number; status: string }>(
        'SELECT lost_count, status FROM queue_tasks WHERE task_id = ANY($1)',
        [ids],
      );
      expect(rows.every((r) => r.status === 'completed' && r.lost_count === 1)).toBe(true);
    });

    it('a claim that lands after SIGTERM is handed back, not started', async () => {
      database = await createTestDatabase();
      // Fair claims take an advisory lock first: holding it keeps the node's claim in flight.
      const blocker = new pg.Client({ connectionString: database.url });
      await blocker.connect();
      try {
        const draining = node({ QUEUE_CONCURRENCY: '2', APP_CONCURRENCY_LIMIT: '2' });
        const url = await draining.url();
        await blocker.query('BEGIN');
        await blocker.query('SELECT pg_advisory_xact_lock(7301003)');
        const { body } = await postSpec(url, specYaml('late-claim', [`touch ${dir}/late-ran`]));
        await waitFor(
          async () =>
            (
              await query<{ n: number }>(
                "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'",
              )
            )[0]!.n > 0,
          { what: 'the node to wait for the claim lock' },
        );
        draining.child.kill('SIGTERM');
        await draining.waitForLog(/^Shutting down/);
        await blocker.query('COMMIT');
        expect(await draining.exited).toBe(0);
        expect(fs.existsSync(path.join(dir, 'late-ran'))).toBe(false);
        expect(draining.lines().some((l) => l.msg === 'task started')).toBe(false);
        const [row] = await query<{ status: string; used: number }>(
          'SELECT status, attempts - attempt_base AS used FROM queue_tasks WHERE task_id = $1',
          [body.task_id],
        );
        expect(row).toEqual({ status: 'pending', used: 0 });
      } finally {
        await blocker.end();
      }
    });
  },
);
