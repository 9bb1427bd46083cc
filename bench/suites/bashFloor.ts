// One-step bash workflows (`true`) drained from a backlog at concurrency 5 and 20, against the
// floor: the same number of `bash -c true` spawned by a bare Node loop at the same concurrency.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, lane));
process.stdout.write(String((count / (performance.now() - started)) * 1000));
`;

/** `bash -c true` `count` times, `concurrency` at a time, from a bare Node loop; spawns/s. */
export async function bareSpawnRate(count: number, concurrency: number): Promise<number> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'iq-bench-floor-'));
  try {
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
    const rate = Number(out);
    if (code !== 0 || !Number.isFinite(rate))
      throw new Error(`the floor loop failed (exit ${code})`);
    return rate;
  } finally {
    await fs.rm(home, { recursive: true, force: true });
  }
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
    }
    metrics.note(
      'The queue: tasks/s from the table (first started_at to last completed_at) of a backlog drained by a worker node; the floor: the same count spawned right after, no sandbox on either side.',
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
        await waitForStats(
          worker.url,
          (s) => s.tasks_completed + s.tasks_failed >= before + TASKS && s.active_tasks === 0,
          { timeoutMs: 600_000, intervalMs: 50, what: `${TASKS} bash tasks to finish` },
        );
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
        const floor = await bareSpawnRate(TASKS, c);
        metrics.record(`queue-c${c}`, queue);
        metrics.record(`floor-c${c}`, floor);
        metrics.record(`ratio-c${c}`, queue / floor);
        log(
          `run ${run}, c${c}: queue ${queue.toFixed(0)} tasks/s, floor ${floor.toFixed(0)}/s, ratio ${(queue / floor).toFixed(2)}`,
        );
      }
    }
  },
};
