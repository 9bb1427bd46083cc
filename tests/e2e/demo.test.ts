// `npm run demo`: the demo guide's automated script runs to its end on its own. With no server
// configured (no QUEUE_URL, an empty HOME) it starts an embedded one and stops it afterwards.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveProcesses } from '../helpers/serverProcess.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Start-up of npm, tsx and an in-memory database, 3 workflows of 2 s, on a busy machine. */
const DEMO_DEADLINE_MS = 120_000;

let home: string;
beforeAll(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-demo-home-'));
});
afterAll(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('npm', ['run', '--silent', 'demo'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: home, npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: past the deadline npm, tsx and node all go.
    detached: true,
  });
  liveProcesses.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), DEMO_DEADLINE_MS);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(deadline);
      liveProcesses.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('npm run demo', () => {
  it(
    'runs the guide end to end on an embedded server and exits 0',
    { timeout: DEMO_DEADLINE_MS + 10_000 },
    async () => {
      const run = await runDemo();
      expect(run.code, run.stderr).toBe(0);
      const out = run.stdout;
      expect(out).toContain('starting one in this process');
      expect(out).toMatch(/Async queue demo against http:\/\/127\.0\.0\.1:\d+ \(embedded/);

      const sections = [
        '== Step 1: Check server health ==',
        '== Step 2: Initial queue stats ==',
        '== Step 3: Enqueue 3 workflows concurrently ==',
        '== Step 4: Active tasks (while they run) ==',
        '== Step 5: Final queue stats (after they finish) ==',
        '== Step 6: Task history (from the database) ==',
      ];
      const positions = sections.map((title) => out.indexOf(title));
      expect(positions.every((p) => p >= 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);

      const section = (i: number) => out.slice(positions[i], positions[i + 1] ?? undefined);
      expect(section(0)).toContain('✔ healthy: database pglite, reachable');
      expect(section(1)).toMatch(/tasks_enqueued\s+0/);
      const enqueued = [...section(2).matchAll(/#\d (task-\d+-\d+) enqueued in (\d+) ms/g)];
      expect(enqueued).toHaveLength(3);
      expect(section(3)).toMatch(/\d active tasks?/);
      expect(section(3)).toContain('demo-app');
      expect(section(4)).toContain('3 of 3 completed');
      expect(section(4)).toMatch(/tasks_completed\s+3/);
      expect(section(4)).toMatch(/tasks_failed\s+0/);
      expect(section(5)).toMatch(
        /task_id\s+app_name\s+workflow_name\s+status\s+enqueued_at\s+started_at\s+completed_at\s+total_time_ms/,
      );
      for (const [, taskId] of enqueued) {
        expect(section(5)).toMatch(
          new RegExp(`${taskId}\\s+demo-app\\s+golden-path-deploy-app\\s+completed`),
        );
      }
      expect(out).toContain('✔ Demo complete: 3 workflows enqueued');
      expect(out).toContain('Stopping the embedded server');
    },
  );
});
