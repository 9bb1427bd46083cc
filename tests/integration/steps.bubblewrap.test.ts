// The bubblewrap sandbox through the real server: a step sees no other process (no environment,
// no command line, no pid to signal), writes only to its working directory, its task's /tmp and
// STEP_WRITABLE_PATHS, and loses the network with STEP_NETWORK=off. Needs bwrap (`.ci/run`
// installs it).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../server/workflow/stepSandbox.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { postSpec, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const HAS_BWRAP = findOnPath('bwrap', process.env.PATH ?? '') !== undefined;
const SECRET = 'sandbox-secret-value-0815';
// Outside /tmp (a step's /tmp is its own): where the host keeps files a step must not touch.
const hostDir = fs.mkdtempSync(path.join('/var/tmp', 'queue-sandbox-host-'));
const cacheDir = fs.mkdtempSync(path.join('/var/tmp', 'queue-sandbox-cache-'));
const tokensFile = path.join(hostDir, 'tokens');

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
  fs.rmSync(hostDir, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

async function run(
  node: TestServer,
  name: string,
  commands: (string | { command: string; timeout: number })[],
) {
  const body = JSON.stringify({
    apiVersion: 'score.dev/v1b1',
    metadata: { name },
    containers: { web: { image: 'nginx' } },
    workflow: {
      steps: commands.map((command, i) => ({
        name: `step-${i + 1}`,
        type: 'bash',
        config: typeof command === 'string' ? { command } : command,
      })),
    },
  });
  const posted = await postSpec(node.url, body, { contentType: 'application/json', token: SECRET });
  expect(posted.status).toBe(202);
  const task = await waitFor(
    async () => {
      const [row] = await node.server.services.database.query<Record<string, any>>(
        "SELECT * FROM queue_tasks WHERE task_id = $1 AND status IN ('completed', 'failed')",
        [posted.body.task_id],
      );
      return row;
    },
    { what: `task ${name} to finish`, timeoutMs: 30_000 },
  );
  const steps = await node.server.services.database.query<Record<string, any>>(
    'SELECT * FROM queue_task_steps WHERE task_id = $1 ORDER BY position',
    [task.id],
  );
  return { task, outputs: steps.map((s) => s.output as string) };
}

describe.skipIf(!HAS_BWRAP)('a sandboxed step', () => {
  let node: TestServer;
  beforeAll(async () => {
    process.env.QUEUE_SANDBOX_SECRET = SECRET; // in the server's environment, as a token would be
    fs.writeFileSync(tokensFile, `${SECRET}:alice\n`);
    node = await startTestServer(database, {
      API_TOKENS_FILE: tokensFile,
      STEP_SANDBOX: 'bwrap',
      STEP_WRITABLE_PATHS: cacheDir,
    });
  });
  afterAll(async () => {
    delete process.env.QUEUE_SANDBOX_SECRET;
    await node?.stop();
  });

  it("cannot read another process's environment or command line", async () => {
    const { task, outputs } = await run(node, 'proc-hunt', [
      'for p in /proc/[0-9]*; do cat $p/environ $p/cmdline 2>/dev/null | tr "\\0" " "; echo; done; ' +
        'echo "pids: $(ls -d /proc/[0-9]* | wc -l)"',
    ]);
    expect(task.status).toBe('completed');
    expect(outputs[0]).not.toContain(SECRET);
    expect(outputs[0]).not.toContain('QUEUE_SANDBOX_SECRET');
    // bwrap's init, bash, and the few commands of the pipeline: nothing of the host.
    expect(Number(/pids: (\d+)/.exec(outputs[0]!)?.[1])).toBeLessThan(10);
  });

  it('cannot read API_TOKENS_FILE, which is hidden', async () => {
    const { task, outputs } = await run(node, 'token-file', [`cat ${tokensFile} 2>&1 || true`]);
    expect(task.status).toBe('completed');
    // /dev/null is mounted over it, on a nodev mount: not even opened.
    expect(outputs[0]).toMatch(/Permission denied/);
    expect(outputs[0]).not.toContain(SECRET);
  });

  it('cannot signal the server, which keeps running', async () => {
    const { task, outputs } = await run(node, 'kill-server', [`kill -9 ${process.pid}`]);
    expect(task.status).toBe('failed');
    expect(outputs[0]).toMatch(/No such process/);
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  });

  it('writes only to its working directory, its /tmp and STEP_WRITABLE_PATHS', async () => {
    const { task, outputs } = await run(node, 'writes', [
      [
        'echo here > in-workdir && echo workdir-ok',
        'echo here > /tmp/in-tmp && echo tmp-ok',
        `echo here > ${cacheDir}/cached && echo cache-ok`,
        `(echo here > ${hostDir}/outside) 2>&1 || echo host-refused`,
        '(touch /usr/local/outside) 2>&1 || echo usr-refused',
        // Root in the sandbox (as here in CI) has no capabilities: no remount either.
        '(mount -o remount,rw / && touch /usr/local/outside) 2>/dev/null || echo remount-refused',
      ].join('; '),
    ]);
    expect(task.status).toBe('completed');
    expect(outputs[0]).toMatch(/workdir-ok\ntmp-ok\ncache-ok\n/);
    expect(outputs[0]).toMatch(/Read-only file system\nhost-refused/);
    expect(outputs[0]).toMatch(/usr-refused\nremount-refused\n$/);
    expect(fs.existsSync(path.join(hostDir, 'outside'))).toBe(false);
    expect(fs.existsSync('/usr/local/outside')).toBe(false);
    expect(fs.readFileSync(path.join(cacheDir, 'cached'), 'utf8')).toBe('here\n');
    expect(fs.existsSync('/tmp/in-tmp')).toBe(false);
  });

  it('shares /tmp between the steps of its task, and with no other task', async () => {
    const marker = `tmp-${Date.now()}`;
    const first = await run(node, 'tmp-writer', [`echo ${marker} > /tmp/note`, 'cat /tmp/note']);
    expect(first.task.status).toBe('completed');
    expect(first.outputs[1]).toBe(`${marker}\n`);
    const second = await run(node, 'tmp-reader', ['ls -A /tmp; cat /tmp/note 2>&1 || true']);
    expect(second.task.status).toBe('completed');
    expect(second.outputs[0]).not.toContain(marker);
    expect(second.outputs[0]).toMatch(/No such file/);
  });

  it('gives a step that times out STEP_KILL_GRACE to clean up after SIGTERM', async () => {
    const { task, outputs } = await run(node, 'grace', [
      {
        command:
          "trap 'echo cleaning up; sleep 0.3; echo cleaned; exit 1' TERM; echo started; sleep 300 & wait",
        timeout: 1,
      },
    ]);
    expect(task.status).toBe('failed');
    expect(task.error_message).toBe(
      "step 'step-1' timed out after 1s; its process group was killed",
    );
    expect(outputs[0]).toBe('started\ncleaning up\ncleaned\n');
  });

  it('keeps the network by default', async () => {
    const port = new URL(node.url).port;
    const { task, outputs } = await run(node, 'net-on', [
      `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`,
    ]);
    expect(task.status).toBe('completed');
    expect(outputs[0]).toBe('connected\n');
  });
});

describe.skipIf(!HAS_BWRAP)('a sandboxed step with STEP_NETWORK=off', () => {
  let node: TestServer;
  beforeAll(async () => {
    node = await startTestServer(database, {
      API_TOKENS: `${SECRET}:alice`,
      STEP_SANDBOX: 'bwrap',
      STEP_NETWORK: 'off',
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('cannot reach the server, or anything else', async () => {
    const port = new URL(node.url).port;
    const { task, outputs } = await run(node, 'net-off', [
      `(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo connected || echo unreachable`,
    ]);
    expect(task.status).toBe('completed');
    expect(outputs[0]).toBe('unreachable\n');
  });
});
