// The `innominatus-queue` CLI as people and scripts run it: a child process (`node --import tsx
// client/cli/main.ts`) with a clean environment and a temporary HOME, against a real server.
// Exit codes: 0 ok / completed, 1 failed, 2 cancelled, 3 refused, 4 unreachable, 64 usage.
// The CLI only speaks HTTP to the server, so it runs once, in the pglite project: the PostgreSQL
// project skips it (its server's database paths are what the other files test there).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScoreSpec } from '@innominatus-queue/client';
import { liveProcesses } from '../helpers/serverProcess.js';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/testDatabase.js';
import {
  specYaml,
  startTestServer,
  TOKEN,
  type TestServer,
  GUIDE_STATS_FIELDS,
} from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'client/cli/main.ts');
/** Generous: a CLI run starts Node and tsx, on a busy 2-core machine. */
const RUN_DEADLINE_MS = 45_000;

let database: TestDatabase;
let server: TestServer;
let home: string;
let files: string;

/** Run in the pglite project only (see above). */
const cliDescribe = (title: string, body: () => void) =>
  describe.skipIf(onPostgres)(
    onPostgres ? `${title} (run once, in the pglite project: the CLI is backend-agnostic)` : title,
    body,
  );

beforeAll(async () => {
  if (onPostgres) return;
  database = await createTestDatabase();
  server = await startTestServer(database);
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-cli-home-'));
  files = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-cli-files-'));
});
afterAll(async () => {
  if (onPostgres) return;
  await server?.stop();
  await database?.drop();
  await fs.rm(home, { recursive: true, force: true });
  await fs.rm(files, { recursive: true, force: true });
});

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunningCli {
  /** Everything printed on stdout so far. */
  stdout: () => string;
  kill: (signal: NodeJS.Signals) => void;
  done: Promise<CliRun>;
}

/** Starts the CLI with only PATH and the temporary HOME, plus `env`; killed past the deadline. */
function startCli(args: string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveProcesses.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), RUN_DEADLINE_MS);
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(deadline);
      liveProcesses.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
  return { stdout: () => stdout, kill: (signal) => child.kill(signal), done };
}

const cli = (args: string[], env: Record<string, string> = {}) => startCli(args, env).done;
/** The CLI against the test server, with the development token. */
const iq = (...args: string[]) => cli(args, { QUEUE_URL: server.url, QUEUE_TOKEN: TOKEN });

async function specFile(name: string, yaml: string): Promise<string> {
  const file = path.join(files, name);
  await fs.writeFile(file, yaml);
  return file;
}

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

cliDescribe('enqueue', () => {
  it('--wait shows the steps and their output and exits 0 when the task completes', async () => {
    const file = await specFile(
      'ok.yaml',
      specYaml('cli-ok', ['echo "hello from step one"', 'echo "and from step two"']),
    );
    const run = await iq('enqueue', file, '--wait');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Golden path 'deploy-app' enqueued successfully");
    expect(run.stdout).toContain('step-1');
    expect(run.stdout).toContain('step-2');
    expect(count(run.stdout, 'hello from step one')).toBe(1);
    expect(count(run.stdout, 'and from step two')).toBe(1);
    expect(run.stdout).toMatch(/✔ task-\d+-\d+ completed/);
  });

  it('-q prints the task id alone; with --wait nothing more, the outcome in the exit code', async () => {
    const file = await specFile('quiet.yaml', specYaml('cli-quiet', ['echo quiet']));
    const quiet = await iq('enqueue', '-q', file);
    expect(quiet).toMatchObject({ code: 0, stderr: '' });
    expect(quiet.stdout).toMatch(/^task-\d+-\d+\n$/);
    const failing = await specFile('quiet-fail.yaml', specYaml('cli-quiet-fail', ['exit 3']));
    const waited = await iq('enqueue', '--quiet', '--wait', failing);
    expect(waited.code).toBe(1);
    expect(waited.stdout).toMatch(/^task-\d+-\d+\n$/);
  });

  it('--wait exits 1 when the task fails, with the failing step and its output', async () => {
    const file = await specFile('fail.yaml', specYaml('cli-fail', ['echo before-failure; exit 3']));
    const run = await iq('enqueue', file, '--wait');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('before-failure');
    expect(run.stdout).toContain('(exit 3)');
    expect(run.stdout).toMatch(/✖ task-\d+-\d+ failed: step 'step-1' failed with exit code 3/);
  });

  it('--wait exits 2 when the task is cancelled (by `cancel` from another shell)', async () => {
    const file = await specFile('slow.yaml', specYaml('cli-cancel', ['echo started; sleep 60']));
    const waiting = startCli(['enqueue', file, '--wait'], {
      QUEUE_URL: server.url,
      QUEUE_TOKEN: TOKEN,
    });
    const taskId = await waitFor(() => /(task-\d+-\d+)/.exec(waiting.stdout())?.[1], {
      timeoutMs: RUN_DEADLINE_MS,
      what: 'the enqueued task id',
    });
    await waitFor(async () => (await server.client.task(taskId)).status === 'running', {
      timeoutMs: 30_000,
      what: 'the task to run',
    });
    const cancel = await iq('cancel', taskId);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(taskId);
    const run = await waiting.done;
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/■ task-\d+-\d+ cancelled/);
  });

  it('lists every failing field of a spec the server refuses, and exits 3', async () => {
    const file = await specFile(
      'invalid.yaml',
      `apiVersion: score.dev/v1
metadata:
  name: Not_A_Dns_Label
containers: {}
workflow:
  steps:
    - name: build
      type: python
      config: {}
    - name: deploy
      type: bash
      config:
        command: ""
`,
    );
    const run = await iq('enqueue', file);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('The server refused the spec (5 problems)');
    expect(run.stderr).toContain("apiVersion: must be 'score.dev/v1b1'");
    expect(run.stderr).toContain('metadata.name: must be a DNS label');
    expect(run.stderr).toContain('containers: must define at least one container');
    expect(run.stderr).toContain("workflow.steps[0].type: unsupported step type 'python'");
    expect(run.stderr).toContain('workflow.steps[1].config.command: must be a non-empty command');

    const json = await iq('enqueue', file, '--json');
    expect(json.code).toBe(3);
    expect(json.stdout).toBe('');
    const { error } = JSON.parse(json.stderr);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.exit_code).toBe(3);
    expect(error.details.map((d: { path: string }) => d.path)).toEqual([
      'apiVersion',
      'metadata.name',
      'containers',
      'workflow.steps[0].type',
      'workflow.steps[1].config.command',
    ]);
  });

  it('reports a YAML syntax error with its line, before sending anything', async () => {
    const file = await specFile(
      'broken.yaml',
      'apiVersion: score.dev/v1b1\nmetadata:\n  name: a\n  name: b\ncontainers: [web\n',
    );
    const run = await iq('enqueue', file);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`Cannot parse ${file}`);
    expect(run.stderr).toContain('line 4, column 3: Map keys must be unique');
    expect(run.stderr).toMatch(/line 6, column 1: Flow sequence/);

    const missing = await iq('enqueue', path.join(files, 'no-such.yaml'));
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('no such file');
  });
});

cliDescribe('enqueue of several specs', () => {
  it('sends the specs of several files and multi-document files in one batch, in order', async () => {
    const one = await specFile('batch-one.yaml', specYaml('cli-batch-a', ['true']));
    const two = await specFile(
      'batch-two.yaml',
      `${specYaml('cli-batch-b', ['true'])}\n---\n${specYaml('cli-batch-c', ['true'])}\n`,
    );
    const run = await iq('enqueue', one, two, '--priority', '4', '--json');
    expect(run.code).toBe(0);
    const { tasks } = JSON.parse(run.stdout) as { tasks: { application: string }[] };
    expect(tasks.map((t) => t.application)).toEqual(['cli-batch-a', 'cli-batch-b', 'cli-batch-c']);
    const rows = await server.server.services.database.query<{ priority: number }>(
      "SELECT priority FROM queue_tasks WHERE app_name LIKE 'cli-batch-%'",
    );
    expect(rows.map((r) => r.priority)).toEqual([4, 4, 4]);

    // One bad spec: nothing is stored, and the problem names its file and document.
    const bad = await specFile(
      'batch-bad.yaml',
      `${specYaml('cli-batch-d', ['true'])}\n---\napiVersion: score.dev/v1b1\nmetadata:\n  name: cli-batch-e\n`,
    );
    const refused = await iq('enqueue', one, bad);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`${bad} (document 2): containers: is required`);
    const after = await server.server.services.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM queue_tasks WHERE app_name LIKE 'cli-batch-%'",
    );
    expect(after[0]?.n).toBe(3);
  });
});

cliDescribe('--json', () => {
  it("prints only parseable JSON on stdout, in the guide's shapes", async () => {
    const file = await specFile('json.yaml', specYaml('cli-json', ['echo json-output']));
    const enqueued = await iq('enqueue', file, '--json');
    expect(enqueued.code).toBe(0);
    const body = JSON.parse(enqueued.stdout);
    expect(body).toEqual({
      message: "Golden path 'deploy-app' enqueued successfully",
      application: 'cli-json',
      task_id: expect.stringMatching(/^task-\d+-\d+$/),
      status: 'enqueued',
    });

    const waited = await iq('enqueue', file, '--wait', '--json');
    expect(waited.code).toBe(0);
    const { enqueued: again, task } = JSON.parse(waited.stdout);
    expect(task).toMatchObject({ id: again.task_id, status: 'completed' });
    expect(task.steps[0].output).toBe('json-output\n');

    const [stats, active, tasks, detail, logs] = await Promise.all([
      iq('stats', '--json'),
      iq('active', '--json'),
      iq('tasks', '--json', '--limit', '2'),
      iq('task', again.task_id, '--json'),
      iq('logs', again.task_id, '--json'),
    ]);
    for (const run of [stats, active, tasks, detail, logs]) expect(run.code).toBe(0);
    expect(Object.keys(JSON.parse(stats.stdout)).sort()).toEqual([...GUIDE_STATS_FIELDS]);
    expect(JSON.parse(active.stdout)).toMatchObject({ count: expect.any(Number) });
    expect(JSON.parse(tasks.stdout).tasks).toHaveLength(2);
    expect(JSON.parse(detail.stdout)).toMatchObject({ id: again.task_id, status: 'completed' });
    expect(JSON.parse(logs.stdout)).toMatchObject({
      id: again.task_id,
      text: '==> step step-1\njson-output\n',
      complete: true,
    });
  });
});

cliDescribe('reading the queue', () => {
  let failedId: string;
  let completedId: string;

  beforeAll(async () => {
    const failed = await server.client.enqueueSpec({
      spec: specObject('cli-history-failed', 'echo doomed; exit 7'),
    });
    const completed = await server.client.enqueueSpec({
      spec: specObject('cli-history-ok', 'echo fine'),
    });
    failedId = failed.task_id;
    completedId = completed.task_id;
    await waitFor(
      async () =>
        (await server.client.task(failedId)).status === 'failed' &&
        (await server.client.task(completedId)).status === 'completed',
      { timeoutMs: 30_000, what: 'both tasks to finish' },
    );
  });

  it('golden-paths lists the golden paths and their steps', async () => {
    const [text, json] = await Promise.all([iq('golden-paths'), iq('golden-paths', '--json')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`3 golden paths on ${server.url}`);
    expect(text.stdout).toContain(
      'deploy-app (default)  Validate the spec, build, provision and deploy an application\n  - validate-spec: Check the Score spec before anything is built\n',
    );
    expect(JSON.parse(json.stdout)).toEqual(await server.client.goldenPaths());
  });

  it("stats prints the figures with the guide's names", async () => {
    const run = await iq('stats');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Queue stats of ${server.url}`);
    expect(run.stdout).toMatch(/workers\s+5/);
    expect(run.stdout).toMatch(/tasks_failed\s+[1-9]/);
  });

  it("tasks --status failed lists failed tasks only, with the guide's columns", async () => {
    const run = await iq('tasks', '--status', 'failed');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /task_id\s+app_name\s+workflow_name\s+status\s+enqueued_at\s+started_at\s+completed_at\s+total_time_ms/,
    );
    expect(run.stdout).toContain(failedId);
    expect(run.stdout).toContain("step 'step-1' failed with exit code 7");
    expect(run.stdout).not.toContain(completedId);

    const json = JSON.parse((await iq('tasks', '--status', 'failed', '--json')).stdout);
    expect(json.tasks.length).toBeGreaterThan(0);
    expect(json.tasks.every((t: { status: string }) => t.status === 'failed')).toBe(true);

    const byApp = await iq('tasks', '--app', 'cli-history-ok');
    expect(byApp.stdout).toContain(completedId);
    expect(byApp.stdout).not.toContain(failedId);
  });

  it('task shows the record and its steps', async () => {
    const run = await iq('task', failedId);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Task ${failedId}  failed`);
    expect(run.stdout).toMatch(/app_name\s+cli-history-failed/);
    expect(run.stdout).toMatch(/1\s+step-1\s+bash\s+failed\s+7/);

    const missing = await iq('task', 'task-1-1');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('No task task-1-1.');
  });

  it('logs prints the log; --follow streams a running task to its end, each line once', async () => {
    const done = await iq('logs', failedId);
    expect(done.code).toBe(0);
    expect(done.stdout).toBe('==> step step-1\ndoomed\n');

    const { task_id: runningId } = await server.client.enqueueSpec({
      spec: specObject('cli-follow', 'echo first; sleep 2; echo second; sleep 1; echo third'),
    });
    await waitFor(async () => (await server.client.task(runningId)).status === 'running', {
      timeoutMs: 30_000,
      what: 'the task to run',
    });
    const run = await iq('logs', runningId, '--follow');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('==> step step-1\nfirst\nsecond\nthird\n');
    expect(run.stderr).toMatch(/✔ task-\d+-\d+ completed/);

    const failedFollow = await iq('logs', failedId, '--follow');
    expect(failedFollow.code).toBe(1);
    expect(failedFollow.stdout).toBe('==> step step-1\ndoomed\n');
  });

  it('active lists running tasks', async () => {
    const { task_id: id } = await server.client.enqueueSpec({
      spec: specObject('cli-active', 'sleep 60'),
    });
    try {
      await waitFor(async () => (await server.client.task(id)).status === 'running', {
        timeoutMs: 30_000,
        what: 'the task to run',
      });
      const run = await iq('active');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^\d+ active tasks?$/m);
      expect(run.stdout).toContain(id);
    } finally {
      await server.client.cancelTask(id);
    }
  });

  it('retry queues a failed task again; cancel refuses a finished one', async () => {
    const run = await iq('retry', failedId);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Task ${failedId} queued again. (pending)`);
    await waitFor(
      async () => {
        const task = await server.client.task(failedId);
        return task.attempts === 2 && task.status === 'failed';
      },
      { timeoutMs: 30_000, what: 'the retried task to fail again' },
    );
    const cancel = await iq('cancel', completedId);
    expect(cancel.code).toBe(3);
    expect(cancel.stderr).toContain('has already completed');
  });

  it('stats --watch prints a line per change from the subscription; Ctrl-C exits 0', async () => {
    const watch = startCli(['stats', '--watch'], { QUEUE_URL: server.url });
    const enqueuedNow = (text: string) =>
      [...text.matchAll(/tasks_enqueued=(\d+)/g)].map((m) => Number(m[1]));
    const first = await waitFor(() => enqueuedNow(watch.stdout())[0], {
      timeoutMs: RUN_DEADLINE_MS,
      what: 'the first stats line',
    });
    await server.client.enqueueSpec({ spec: specObject('cli-watch', 'echo watched') });
    await waitFor(() => enqueuedNow(watch.stdout()).includes(first + 1), {
      timeoutMs: 30_000,
      what: 'a stats line with the new task',
    });
    watch.kill('SIGINT');
    const run = await watch.done;
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(2);
    expect(run.stdout).toMatch(/^\S+Z active_tasks=\d+ .* workers=5$/m);
  });
});

cliDescribe('scheduling and control', () => {
  it(
    'enqueue --in, pause --app, schedule set, and a bad cron named',
    {
      timeout: 120_000,
    },
    async () => {
      const file = await specFile('later.yaml', specYaml('cli-later', ['true']));
      const later = await iq('--json', 'enqueue', file, '--in', '10m');
      expect(later.code).toBe(0);
      const taskId = (JSON.parse(later.stdout) as { task_id: string }).task_id;
      const task = await server.client.task(taskId);
      expect(Date.parse(task.run_at) - Date.parse(task.enqueued_at)).toBeGreaterThan(590_000);

      expect((await iq('pause', '--app', 'cli-later')).stdout).toContain(
        "Paused application 'cli-later'",
      );
      expect((await server.client.pauses()).pauses[0]?.app_name).toBe('cli-later');
      await server.client.resumeQueue({ app_name: 'cli-later' });

      const set = await iq('schedule', 'set', 'cli-nightly', file, '--cron', '0 3 * * *');
      expect(set.stdout).toContain('Schedule cli-nightly');
      const bad = await iq('schedule', 'set', 'cli-bad', file, '--cron', 'often');
      expect(bad.code).toBe(3);
      expect(bad.stderr).toContain('cron');
    },
  );
});

cliDescribe('errors and settings', () => {
  it('says which URL could not be reached and how to set another; exits 4', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await cli(['stats', '--url', url]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`Cannot reach the queue server at ${url} (connection refused)`);
    expect(run.stderr).toContain('The URL came from --url');
    expect(run.stderr).toContain('QUEUE_URL');
    expect(run.stderr).toContain(path.join(home, '.config/innominatus-queue/config.json'));

    const json = await cli(['stats', '--url', url, '--json']);
    expect(json.code).toBe(4);
    expect(json.stdout).toBe('');
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'NETWORK_ERROR', exit_code: 4 });
  });

  it('explains a 401: how to pass a token; exits 3', async () => {
    const file = await specFile('auth.yaml', specYaml('cli-auth', ['true']));
    const none = await cli(['enqueue', file], { QUEUE_URL: server.url });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('401 Unauthorized');
    expect(none.stderr).toContain('none was given');
    expect(none.stderr).toContain('--token');
    expect(none.stderr).toContain('QUEUE_TOKEN');

    const wrong = await cli(['enqueue', file, '--token', 'not-the-token'], {
      QUEUE_URL: server.url,
    });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('the token from --token was not accepted');
  });

  it('flag > environment > config file, for the URL and the token each', async () => {
    const file = await specFile('settings.yaml', specYaml('cli-settings', ['true']));
    const configDir = path.join(home, '.config', 'innominatus-queue');
    await fs.mkdir(configDir, { recursive: true });
    const configFile = path.join(configDir, 'config.json');
    await fs.writeFile(configFile, JSON.stringify({ url: server.url, token: TOKEN }));
    const deadUrl = `http://127.0.0.1:${await closedPort()}`;
    try {
      // The file alone: its URL and token.
      const fromFile = await cli(['enqueue', file]);
      expect(fromFile.stderr).toBe('');
      expect(fromFile.code).toBe(0);

      // The environment wins over the file...
      const envUrl = await cli(['stats'], { QUEUE_URL: deadUrl });
      expect(envUrl.code).toBe(4);
      expect(envUrl.stderr).toContain(deadUrl);
      expect(envUrl.stderr).toContain('The URL came from QUEUE_URL');
      const envToken = await cli(['enqueue', file], { QUEUE_TOKEN: 'wrong-token' });
      expect(envToken.code).toBe(3);
      expect(envToken.stderr).toContain('the token from QUEUE_TOKEN was not accepted');

      // ...and a flag over the environment.
      const flags = await cli(['enqueue', file, '--url', server.url, '--token', TOKEN], {
        QUEUE_URL: deadUrl,
        QUEUE_TOKEN: 'wrong-token',
      });
      expect(flags.code).toBe(0);

      // A token file (e.g. a mounted secret): --token-file, then QUEUE_TOKEN_FILE, each right
      // after its inline twin.
      const tokenFile = path.join(home, 'token');
      await fs.writeFile(tokenFile, `${TOKEN}\n`);
      const wrongFile = path.join(home, 'wrong-token');
      await fs.writeFile(wrongFile, 'wrong-token\n');
      const fileFlag = await cli(['enqueue', file, '--token-file', tokenFile], {
        QUEUE_TOKEN: 'wrong-token',
      });
      expect(fileFlag.code).toBe(0);
      const fileEnv = await cli(['enqueue', file], { QUEUE_TOKEN_FILE: wrongFile });
      expect(fileEnv.code).toBe(3);
      expect(fileEnv.stderr).toContain('the token from QUEUE_TOKEN_FILE was not accepted');
      const missing = await cli(['stats', '--token-file', path.join(home, 'nope')]);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toContain('Cannot read the token file');

      // $XDG_CONFIG_HOME is where the file is looked for when it is set.
      const xdg = path.join(home, 'xdg');
      await fs.mkdir(path.join(xdg, 'innominatus-queue'), { recursive: true });
      const xdgFile = path.join(xdg, 'innominatus-queue', 'config.json');
      await fs.writeFile(xdgFile, JSON.stringify({ url: server.url, token: 'xdg-wrong' }));
      const fromXdg = await cli(['enqueue', file], { XDG_CONFIG_HOME: xdg });
      expect(fromXdg.code).toBe(3);
      expect(fromXdg.stderr).toContain(`the token from ${xdgFile} was not accepted`);

      await fs.writeFile(configFile, '{"url": 42}');
      const broken = await cli(['stats']);
      expect(broken.code).toBe(3);
      expect(broken.stderr).toContain(`The config file ${configFile} is invalid`);
      expect(broken.stderr).toContain('url: must be a string');
    } finally {
      await fs.rm(path.join(home, '.config'), { recursive: true, force: true });
    }
  });

  it('exits 64 on a usage error', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const badStatus = await cli(['tasks', '--status', 'lost']);
    expect(badStatus.code).toBe(64);
    expect(badStatus.stderr).toContain('Allowed choices are pending, running, completed');
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
  });
});

function specObject(name: string, command: string): ScoreSpec {
  return {
    apiVersion: 'score.dev/v1b1',
    metadata: { name },
    containers: { web: { image: 'nginx:latest' } },
    workflow: { steps: [{ name: 'step-1', type: 'bash', config: { command } }] },
  };
}
