// One-step bash workflows (`true`) drained from a backlog at concurrency 5 and 20, against the
// floor: the same number of `bash -c true` spawned by a bare Node loop at the same concurrency.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BenchDatabase } from '../lib/database.js';
import { childPids, processStat } from '../lib/processCpu.js';
import { getStats, waitForStats } from '../lib/queueApi.js';
import type { Suite } from '../lib/suite.js';
import { postBatch } from './batchEnqueue.js';

const TASKS = 1_000;
const CONCURRENCIES = [5, 20] as const;

function trueBatch(app: string): string {
  return JSON.stringify({
    specs: Array.from({ length: TASKS }, () => ({
      spec: {
        apiVersion: 'score.dev/v1b1',
        metadata: { name: app },
        containers: { web: { image: 'nginx:latest' } },
        workflow: { steps: [{ name: 'noop', type: 'bash', config: { command: 'true' } }] },
      },
    })),
  });
}

/**
 * The floor's loop, run in a fresh Node process of its own: fork+exec costs grow with the
 * parent's memory, and the benchmark process is far bigger than a bare loop.
 */
const FLOOR_SCRIPT = `
import { spawn } from 'node:child_process';
const [count, concurrency] = process.argv.slice(1).map(Number);
let next = 0;
const one = () => new Promise((resolve, reject) => {
  const child = spawn('bash', ['--noprofile', '--norc', '-c', 'true'], { stdio: 'ignore' });
  child.once('error', reject);
  child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error('bash exited ' + code))));
});
const lane = async () => { while (next < count) { next += 1; await one(); } };
const cpu = process.cpuUsage();
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, lane));
const rate = (count / (performance.now() - started)) * 1000;
const used = process.cpuUsage(cpu);
const all = process.cpuUsage();
// The loop's CPU, and all of this process's (start-up too): the parent subtracts that from what
// it reaps, which leaves the bash processes'.
process.stdout.write(JSON.stringify({
  rate, selfMs: (used.user + used.system) / 1000, allMs: (all.user + all.system) / 1000,
}));
`;

interface FloorRun {
  /** Spawns per second. */
  rate: number;
  /** The loop's own CPU, and its children's (null without /proc), in ms. */
  selfMs: number;
  childrenMs: number | null;
}

/** The CPU of the children this process reaped so far (cutime + cstime), in ms. */
async function reapedMs(): Promise<number | undefined> {
  return (await processStat(process.pid))?.childrenMs;
}

/** `bash -c true` `count` times, `concurrency` at a time, from a bare Node loop. */
export async function bareSpawnRate(count: number, concurrency: number): Promise<FloorRun> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'iq-bench-floor-'));
  try {
    const reapedBefore = await reapedMs();
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', FLOOR_SCRIPT, String(count), String(concurrency)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const run = (code === 0 ? JSON.parse(out) : undefined) as
      { rate: number; selfMs: number; allMs: number } | undefined;
    if (!run || !Number.isFinite(run.rate)) throw new Error(`the floor loop failed (exit ${code})`);
    // Reaping the loop adds its CPU and its reaped children's to this process's children's.
    const reapedAfter = await reapedMs();
    const childrenMs =
      reapedBefore === undefined || reapedAfter === undefined
        ? null
        : Math.max(0, reapedAfter - reapedBefore - run.allMs);
    return { rate: run.rate, selfMs: run.selfMs, childrenMs };
  } finally {
    await fs.rm(home, { recursive: true, force: true });
  }
}

/** CPU used so far by a worker node, its step launcher (and the steps it reaped), its backends. */
interface DrainCpu {
  serverMs: number;
  helper: { pid: number; selfMs: number; childrenMs: number } | undefined;
  /** Backend pid → its CPU; undefined where the backends cannot be read (PGlite, a remote host). */
  backends: Map<number, number> | undefined;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', '']);

async function drainCpu(serverPid: number, db: BenchDatabase): Promise<DrainCpu | undefined> {
  const server = await processStat(serverPid);
  if (!server) return undefined;
  let helper: DrainCpu['helper'];
  for (const pid of await childPids(serverPid)) {
    const stat = await processStat(pid);
    if (stat?.name === 'node') helper = { pid, selfMs: stat.selfMs, childrenMs: stat.childrenMs };
  }
  let backends: DrainCpu['backends'];
  const url = db.kind === 'postgres' ? db.env.DATABASE_URL : undefined;
  if (url !== undefined && LOCAL_HOSTS.has(new URL(url).hostname)) {
    backends = new Map();
    const rows = await db.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    for (const { pid } of rows) {
      const stat = await processStat(pid);
      if (stat?.name === 'postgres') backends.set(pid, stat.selfMs);
    }
  }
  return { serverMs: server.selfMs, helper, backends };
}

/** Each process's CPU between two snapshots, in ms per task. */
function cpuPerTask(before: DrainCpu, after: DrainCpu, tasks: number) {
  const helperBefore = before.helper?.pid === after.helper?.pid ? before.helper : undefined;
  let postgres: number | undefined;
  if (after.backends) {
    postgres = 0;
    // A backend that was not there before counts from its start.
    for (const [pid, ms] of after.backends) postgres += ms - (before.backends?.get(pid) ?? 0);
  }
  return {
    server: (after.serverMs - before.serverMs) / tasks,
    helper: ((after.helper?.selfMs ?? 0) - (helperBefore?.selfMs ?? 0)) / tasks,
    steps: ((after.helper?.childrenMs ?? 0) - (helperBefore?.childrenMs ?? 0)) / tasks,
    postgres: postgres === undefined ? undefined : postgres / tasks,
  };
}

export const bashFloor: Suite = {
  name: 'bash-floor',
  title: `One-step bash workflows vs bare \`bash -c true\`, ${TASKS.toLocaleString('en-US')} each`,
  async run({ databases, servers, metrics, runs, log }) {
    for (const c of CONCURRENCIES) {
      metrics.define({ key: `queue-c${c}`, label: `queue, concurrency ${c}`, unit: 'tasks/s' });
      metrics.define({
        key: `floor-c${c}`,
        label: `bare Node loop, concurrency ${c}`,
        unit: 'spawns/s',
      });
      metrics.define({
        key: `ratio-c${c}`,
        label: `queue ÷ floor, concurrency ${c}`,
        unit: '×',
        target: { op: '>=', value: 0.8 },
      });
      const cpu = (key: string, label: string) =>
        metrics.define({
          key: `cpu-c${c}-${key}`,
          label: `c${c} CPU a task: ${label}`,
          unit: 'ms',
        });
      cpu('server', 'worker node');
      cpu('helper', "its step launcher's helper");
      cpu('steps', 'the steps (bash), reaped by the helper');
      cpu('postgres', "the node's PostgreSQL backends");
      cpu('floor-node', "the floor's Node loop");
      cpu('floor-steps', "the floor's bash");
    }
    metrics.note(
      'The queue: tasks/s from the table (first started_at to last completed_at) of a backlog drained by a worker node; the floor: the same count spawned right after, no sandbox on either side.',
    );
    metrics.note(
      "CPU a task: each process's utime + stime from /proc between the worker node answering /ready and the last task's end (tasks started before /ready are in the count, not in the CPU), divided by the tasks; bash is what the helper (or the floor's loop) reaped. On a machine where both sides are CPU-bound, the ratio is about the floor's sum over the queue's.",
    );
    const db = await databases.create('bash_floor');
    for (let run = 1; run <= runs; run++) {
      for (const c of CONCURRENCIES) {
        const app = `floor-c${c}-r${run}`;
        const api = await servers.start(db, { concurrency: 0, label: 'bash-floor-api' });
        const before = (await getStats(api.url)).tasks_completed;
        await postBatch(api.url, trueBatch(app));
        await api.stop();
        // The comparison is without the sandbox on both sides (sandboxCost.ts has its own).
        const worker = await servers.start(db, {
          concurrency: c,
          label: `bash-floor-c${c}`,
          env: { STEP_SANDBOX: 'off' },
        });
        const cpuBefore = await drainCpu(worker.pid, db);
        await waitForStats(
          worker.url,
          (s) => s.tasks_completed + s.tasks_failed >= before + TASKS && s.active_tasks === 0,
          { timeoutMs: 600_000, intervalMs: 50, what: `${TASKS} bash tasks to finish` },
        );
        const cpuAfter = await drainCpu(worker.pid, db);
        await worker.stop();
        const [row] = await db.query<{ completed: number; span_s: number }>(
          `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
                  extract(epoch FROM max(completed_at) - min(started_at))::float8 AS span_s
           FROM queue_tasks WHERE app_name = $1`,
          [app],
        );
        if (!row || row.completed !== TASKS) {
          throw new Error(`${app}: ${row?.completed} of ${TASKS} completed`);
        }
        const queue = TASKS / row.span_s;
        const floorRun = await bareSpawnRate(TASKS, c);
        const floor = floorRun.rate;
        metrics.record(`queue-c${c}`, queue);
        metrics.record(`floor-c${c}`, floor);
        metrics.record(`ratio-c${c}`, queue / floor);
        let cpuLine = '';
        if (cpuBefore && cpuAfter) {
          const used = cpuPerTask(cpuBefore, cpuAfter, TASKS);
          metrics.record(`cpu-c${c}-server`, used.server);
          metrics.record(`cpu-c${c}-helper`, used.helper);
          metrics.record(`cpu-c${c}-steps`, used.steps);
          if (used.postgres !== undefined) metrics.record(`cpu-c${c}-postgres`, used.postgres);
          cpuLine = `; CPU a task: server ${used.server.toFixed(2)}, helper ${used.helper.toFixed(2)}, bash ${used.steps.toFixed(2)}, postgres ${used.postgres?.toFixed(2) ?? '-'} ms`;
        }
        metrics.record(`cpu-c${c}-floor-node`, floorRun.selfMs / TASKS);
        if (floorRun.childrenMs !== null) {
          metrics.record(`cpu-c${c}-floor-steps`, floorRun.childrenMs / TASKS);
        }
        log(
          `run ${run}, c${c}: queue ${queue.toFixed(0)} tasks/s, floor ${floor.toFixed(0)}/s, ratio ${(queue / floor).toFixed(2)}${cpuLine}; floor's loop ${(floorRun.selfMs / TASKS).toFixed(2)}, its bash ${floorRun.childrenMs === null ? '-' : (floorRun.childrenMs / TASKS).toFixed(2)} ms`,
        );
      }
    }
  },
};
