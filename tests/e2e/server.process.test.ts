// The server as users run it: a process that prints the guide's start-up lines, keeps its
// embedded database across restarts, refuses unsafe configurations, and stops cleanly on SIGTERM.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess } from '../helpers/serverProcess.js';
import { createTestDatabase, onPostgres, POSTGRES_ONLY_MESSAGE } from '../helpers/testDatabase.js';
import { DEMO_SPEC_YAML, getJson, postSpec, specYaml } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-e2e-'));
});
afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('the server process on the embedded database', () => {
  it('prints the start-up lines, serves the guide, keeps its data across a restart', async () => {
    const first = startServerProcess({ DATA_DIR: dataDir });
    await first.waitForLog(/^Async workflow queue initialized with 5 workers$/);
    const url = await first.url();
    const logs = first.lines().map((l) => l.msg as string);
    expect(logs.indexOf('Async workflow queue initialized with 5 workers')).toBeLessThan(
      logs.findIndex((m) => /^Server listening on :\d+$/.test(m)),
    );
    expect(first.output()).toMatch(/development token 'test-token'/);
    const { status, body } = await postSpec(url, specYaml('restart-app', ['echo persisted']));
    expect(status).toBe(202);
    await waitFor(async () => (await getJson(url, '/api/queue/stats')).body.tasks_completed === 1, {
      what: 'completion',
    });
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.output()).toContain('Shutdown complete');
    // The lock file is released on a clean stop.
    await expect(fs.access(path.join(dataDir, 'innominatus-queue.pid'))).rejects.toThrow();

    const second = startServerProcess({ DATA_DIR: dataDir });
    try {
      const url2 = await second.url();
      const stats = (await getJson(url2, '/api/queue/stats')).body;
      expect(stats).toMatchObject({ tasks_enqueued: 1, tasks_completed: 1, workers: 5 });
      expect(body.task_id).toMatch(/^task-/);
    } finally {
      expect(await second.stop('SIGINT')).toBe(0);
    }
  });

  it('refuses a second server on the same data directory', async () => {
    const owner = startServerProcess({ DATA_DIR: dataDir });
    try {
      await owner.port();
      const intruder = startServerProcess({ DATA_DIR: dataDir });
      expect(await intruder.exited).toBe(1);
      expect(intruder.output()).toContain('is in use by another server');
    } finally {
      await owner.stop();
    }
  });

  it('refuses to listen on a public address without tokens', async () => {
    const child = startServerProcess({ DATA_DIR: 'memory://', HOST: '0.0.0.0' });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain('Refusing to listen on 0.0.0.0 without API tokens');
  });

  it('reports a configuration error by name', async () => {
    const child = startServerProcess({ DATA_DIR: 'memory://', QUEUE_CONCURRENCY: 'lots' });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain('QUEUE_CONCURRENCY');
  });

  it('SIGTERM lets a running task finish before exiting', async () => {
    const child = startServerProcess({ DATA_DIR: 'memory://' });
    const url = await child.url();
    const { body } = await postSpec(url, specYaml('drain-app', ['sleep 1; echo done']));
    await waitFor(async () => (await getJson(url, '/api/queue/stats')).body.active_tasks === 1, {
      what: 'the task to run',
    });
    expect(await child.stop('SIGTERM')).toBe(0);
    const finished = child
      .lines()
      .find((l) => l.taskId === body.task_id && l.msg === 'task completed');
    expect(finished).toBeDefined();
  });
});

describe.skipIf(!onPostgres)(
  `several servers on one PostgreSQL (${onPostgres ? 'running' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    it('start at once against a fresh database without breaking each other (migration lock)', async () => {
      const database = await createTestDatabase();
      const nodes = [1, 2, 3].map(() => startServerProcess(database.env));
      try {
        const urls = await Promise.all(nodes.map((n) => n.url()));
        const stats = await Promise.all(
          urls.map(async (u) => (await getJson(u, '/api/queue/stats')).body),
        );
        for (const s of stats) expect(s.workers).toBe(15);
        const { status } = await postSpec(urls[0]!, DEMO_SPEC_YAML.replace('sleep 5', 'sleep 0.1'));
        expect(status).toBe(202);
      } finally {
        for (const n of nodes) expect(await n.stop()).toBe(0);
        await database.drop();
      }
    });
  },
);
