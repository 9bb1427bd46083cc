// What a bash step gets and does not get through the real server: only the queue's variables
// (never the server's own environment, database URL or tokens), its own working directory that
// is removed afterwards, and a timeout that kills its whole process group.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { postSpec, startTestServer, type TestServer } from '../helpers/testServer.js';
import { processesWith } from '../helpers/processes.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase;
let node: TestServer;
const SECRET = 'super-secret-value-4711';
// This file's own WORK_DIR: one test removes it.
const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iq-sandbox-test-'));

beforeAll(async () => {
  // Something the server process has in its environment that must never reach a step.
  process.env.QUEUE_TEST_SECRET = SECRET;
  database = await createTestDatabase();
  // `auto`: in the bubblewrap sandbox where bwrap is installed, unisolated elsewhere.
  node = await startTestServer(database, {
    API_TOKENS: `${SECRET}:alice`,
    STEP_SANDBOX: 'auto',
    WORK_DIR: path.join(workRoot, 'work'),
  });
});
afterAll(async () => {
  delete process.env.QUEUE_TEST_SECRET;
  await node?.stop();
  await database?.drop();
  fs.rmSync(workRoot, { recursive: true, force: true });
});

function spec(
  name: string,
  steps: { name: string; command: string; timeout?: number; env?: Record<string, string> }[],
) {
  return JSON.stringify({
    apiVersion: 'score.dev/v1b1',
    metadata: { name },
    containers: { web: { image: 'nginx' } },
    workflow: {
      steps: steps.map((s) => ({
        name: s.name,
        type: 'bash',
        config: {
          command: s.command,
          ...(s.timeout ? { timeout: s.timeout } : {}),
          ...(s.env ? { env: s.env } : {}),
        },
      })),
    },
  });
}

async function run(name: string, steps: Parameters<typeof spec>[1]) {
  const { status, body } = await postSpec(node.url, spec(name, steps), {
    contentType: 'application/json',
    token: SECRET,
  });
  expect(status).toBe(202);
  const task = await waitFor(
    async () => {
      const [row] = await node.server.services.database.query<Record<string, any>>(
        "SELECT * FROM queue_tasks WHERE task_id = $1 AND status IN ('completed', 'failed')",
        [body.task_id],
      );
      return row;
    },
    { what: `task ${name} to finish`, timeoutMs: 30_000 },
  );
  const steps0 = await node.server.services.database.query<Record<string, any>>(
    'SELECT * FROM queue_task_steps WHERE task_id = $1 ORDER BY position',
    [task.id],
  );
  return { task, steps: steps0 };
}

describe('the step sandbox', () => {
  it("gives a step only the queue's variables and the step's own env", async () => {
    const { task, steps } = await run('env-app', [
      { name: 'show-env', command: 'env -0 | sort -z | tr "\\0" "\\n"', env: { GREETING: 'hi' } },
    ]);
    expect(task.status).toBe('completed');
    const output = steps[0]!.output as string;
    const vars = Object.fromEntries(
      output
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    // Under coverage (npm run test:coverage), Node itself passes NODE_V8_COVERAGE to every child
    // it spawns, whatever env it is given: it is the coverage tool's, not the server's.
    if (process.env.NODE_V8_COVERAGE !== undefined) delete vars.NODE_V8_COVERAGE;
    // bash itself adds PWD, SHLVL and _.
    expect(Object.keys(vars).sort()).toEqual(
      [
        'APP_NAME',
        'GREETING',
        'HOME',
        'LANG',
        'PATH',
        'PWD',
        'SHLVL',
        'STEP_NAME',
        'TASK_ID',
        'WORKFLOW_NAME',
        '_',
      ].sort(),
    );
    expect(vars).toMatchObject({
      APP_NAME: 'env-app',
      TASK_ID: task.task_id,
      WORKFLOW_NAME: 'golden-path-deploy-app',
      STEP_NAME: 'show-env',
      GREETING: 'hi',
    });
    expect(vars.HOME).toBe(vars.PWD);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain('DATABASE_URL');
    // The working directory is gone once the task ended.
    expect(fs.existsSync(vars.HOME!)).toBe(false);
  });

  it('shares one working directory between the steps of a task', async () => {
    const { task, steps } = await run('workdir-app', [
      { name: 'write', command: 'echo built > artifact.txt' },
      { name: 'read', command: 'cat artifact.txt; mkdir -p out/deep; touch out/deep/x; pwd' },
    ]);
    expect(task.status).toBe('completed');
    const [built, workDir] = String(steps[1]!.output).trim().split('\n');
    expect(built).toBe('built');
    // Removed with what the steps left in it.
    expect(fs.existsSync(workDir!)).toBe(false);
  });

  it('creates WORK_DIR again when someone removed it', async () => {
    const base = node.server.services.config.steps.workDir;
    fs.rmSync(base, { recursive: true, force: true });
    const { task, steps } = await run('workdir-gone-app', [{ name: 'where', command: 'pwd' }]);
    expect(task.status).toBe('completed');
    expect(path.dirname(steps[0]!.output.trim())).toBe(base);
  });

  it('kills the whole process group when a step times out', async () => {
    // A unique duration marks the background process: in the bubblewrap sandbox its pid and
    // its /tmp are the sandbox's own, so the test finds it by its command line.
    const marker = `300.${Date.now() % 1_000_000}`;
    const { task, steps } = await run('timeout-app', [
      {
        name: 'hang',
        command: `sleep ${marker} & echo started; sleep 300`,
        timeout: 1,
      },
      { name: 'never', command: 'echo never' },
    ]);
    expect(task.status).toBe('failed');
    expect(task.error_message).toBe("step 'hang' timed out after 1s; its process group was killed");
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ status: 'failed', output: 'started\n' });
    await waitFor(() => processesWith(marker).length === 0, {
      what: `background sleep ${marker} to be gone`,
    });
  });

  it('keeps only the last STEP_OUTPUT_LIMIT bytes of a noisy step', async () => {
    const { task, steps } = await run('noisy-app', [
      { name: 'noisy', command: 'head -c 3000000 /dev/zero | tr "\\0" "a"; echo; echo THE-END' },
    ]);
    expect(task.status).toBe('completed');
    const output = steps[0]!.output as string;
    expect(Buffer.byteLength(output)).toBeLessThanOrEqual(1024 * 1024);
    expect(output.endsWith('THE-END\n')).toBe(true);
    expect(Number(steps[0]!.output_bytes)).toBe(3_000_000 + 1 + 8);
  });
});
