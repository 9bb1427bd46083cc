// Faults around the database: an unwritable embedded data directory, an embedded server killed
// mid-task, and a PostgreSQL that is down when the server starts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privatePostgresUnavailable, startPrivatePostgres } from '../helpers/privatePostgres.js';
import { startServerProcess } from '../helpers/serverProcess.js';
import { onPostgres, POSTGRES_ONLY_MESSAGE } from '../helpers/testDatabase.js';
import { getJson, postSpec, specYaml } from '../helpers/testServer.js';
import { STEP_SERVER_PID } from '../helpers/processes.js';
import { waitFor } from '../helpers/waitFor.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-faults-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the embedded database', () => {
  it('an unwritable data directory is a clear error at start-up', async () => {
    const file = path.join(dir, 'not-a-directory');
    fs.writeFileSync(file, '');
    const child = startServerProcess({ DATA_DIR: path.join(file, 'data') });
    expect(await child.exited).toBe(1);
    expect(child.output()).toMatch(
      /The data directory .*not-a-directory\/data is not writable \(ENOTDIR\)/,
    );
    expect(child.output()).toContain('Set DATA_DIR to a writable directory');
  });

  it('a server killed with SIGKILL mid-task gets the task back on restart', async () => {
    const dataDir = path.join(dir, 'killed');
    const log = path.join(dir, 'killed.log');
    const first = startServerProcess({ DATA_DIR: dataDir });
    const url = await first.url();
    const { body } = await postSpec(
      url,
      specYaml('killed-app', [
        `echo "run ${STEP_SERVER_PID}" >> ${log}; sleep 2; echo "done ${STEP_SERVER_PID}" >> ${log}`,
      ]),
    );
    await waitFor(() => fs.existsSync(log), { what: 'the step to start' });
    await first.stop('SIGKILL');
    const second = startServerProcess({ DATA_DIR: dataDir });
    try {
      const url2 = await second.url();
      await waitFor(
        async () => (await getJson(url2, '/api/queue/stats')).body.tasks_completed === 1,
        {
          what: 'the recovered task to complete',
          timeoutMs: 20_000,
        },
      );
      expect(
        second
          .lines()
          .some(
            (l) => l.msg === 'recovered a task from a lost worker' && l.taskId === body.task_id,
          ),
      ).toBe(true);
      // The killed server's step died with it (no "done" from it); the restarted one finished it.
      const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
      expect(lines).toEqual([
        `run ${first.child.pid}`,
        `run ${second.child.pid}`,
        `done ${second.child.pid}`,
      ]);
    } finally {
      await second.stop();
    }
  });
});

describe.skipIf(!onPostgres)(
  `PostgreSQL down at start-up (${onPostgres ? 'running' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    it('the server listens, reports not ready, answers 503, and starts the queue once the database is up', async (context) => {
      const unavailable = await privatePostgresUnavailable();
      if (unavailable) context.skip(`cannot start a private PostgreSQL here: ${unavailable}`);
      const server = await startPrivatePostgres();
      await server.stop();
      const child = startServerProcess({ DATABASE_URL: server.url });
      try {
        const url = await child.url();
        expect(child.output()).toContain('The database is unreachable at start-up');
        const ready = await getJson(url, '/ready');
        expect(ready.status).toBe(503);
        expect(ready.body.ready).toBe(false);
        const stats = await getJson(url, '/api/queue/stats');
        expect(stats.status).toBe(503);
        expect(stats.body.error.code).toBe('SERVICE_UNAVAILABLE');
        const enqueue = await postSpec(url, specYaml('early-app', ['true']));
        expect(enqueue.status).toBe(503);
        await server.start();
        await child.waitForLog(/^Async workflow queue initialized with 5 workers$/, 30_000);
        await waitFor(async () => (await getJson(url, '/ready')).status === 200, {
          what: 'readiness',
        });
        const accepted = await postSpec(url, specYaml('late-app', ['true']));
        expect(accepted.status).toBe(202);
        await waitFor(
          async () => (await getJson(url, '/api/queue/stats')).body.tasks_completed === 1,
          {
            what: 'the task to run',
          },
        );
      } finally {
        await child.stop();
        await server.destroy();
      }
    });
  },
);
