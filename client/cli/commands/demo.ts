// `demo` (npm run demo): the demo guide's automated script. Checks the server's health, shows
// the stats, enqueues 3 workflows at once and times each answer, shows them running, then the
// final stats and the task history. Against the configured server (--url, QUEUE_URL, config
// file), or else a throwaway one started in this process.
import type { Command } from 'commander';
import { parse } from 'yaml';
import { healthSchema, type Health } from '../../../shared/api.js';
import {
  createQueueClient,
  QueueClientError,
  type ActiveTasks,
  type EnqueueResponse,
  type QueueClient,
  type QueueStats,
  type ScoreSpec,
  type TaskSummary,
} from '@innominatus-queue/client';
import { action, type CliContext } from '../action.js';
import { CliError } from '../exitCodes.js';
import { withDeadline } from '../waiting.js';
import { startEmbeddedServer, type EmbeddedServer } from '../embeddedServer.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { formatDuration, plural, renderStats } from '../format.js';
import { renderActiveTasks, renderTaskHistory } from '../taskTables.js';
import { trackTasks } from '../taskFollower.js';

/** The guide's test-score.yaml, with a 2 s sleep instead of 5 so the demo ends quickly. */
const DEMO_SPEC_YAML = `apiVersion: score.dev/v1b1
metadata:
  name: demo-app

containers:
  web:
    image: nginx:latest

workflow:
  steps:
    - name: simulate-work
      type: bash
      config:
        command: |
          echo "Simulating workflow..."
          sleep 2
          echo "Complete!"
`;

const WORKFLOWS = 3;
/** The guide's own token, used against a configured server when no token is set. */
const GUIDE_TOKEN = 'test-token';
const FINISH_DEADLINE_MS = 120_000;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      "run the demo guide's script: health, stats, 3 concurrent workflows, active tasks, history",
    )
    .addHelpText(
      'after',
      `
Without a configured server (--url, QUEUE_URL, config file) it starts one in this process, on an
in-memory database, and stops it afterwards. With --json: one JSON document of every step.`,
    )
    .action(action<[]>(demo));
}

interface DemoReport {
  server: { url: string; embedded: boolean };
  health: Health;
  initial_stats: QueueStats;
  enqueued: (EnqueueResponse & { response_time_ms: number })[];
  active_tasks: ActiveTasks;
  final_stats: QueueStats;
  task_history: TaskSummary[];
}

async function demo(ctx: CliContext): Promise<ExitCode> {
  const say = (line = '') => {
    if (!ctx.json) ctx.out.line(line);
  };
  const c = ctx.out.color;
  const section = (title: string) => {
    say();
    say(c.bold(c.cyan(`== ${title} ==`)));
  };

  let embedded: EmbeddedServer | undefined;
  if (ctx.settings.urlSource === 'default') {
    say(
      c.dim('No server configured (--url, QUEUE_URL, config file): starting one in this process…'),
    );
    embedded = await startEmbeddedServer();
  }
  try {
    const url = embedded?.url ?? ctx.settings.url;
    let client = ctx.client;
    if (embedded) client = createQueueClient({ url, token: embedded.token });
    else if (!ctx.settings.token) {
      say(c.dim(`No token configured: using the guide's development token '${GUIDE_TOKEN}'.`));
      client = createQueueClient({ url, token: GUIDE_TOKEN });
    }
    say(
      `${c.bold('Async queue demo')} against ${url}${embedded ? ' (embedded, in-memory database)' : ''}`,
    );

    section('Step 1: Check server health');
    const health = await checkHealth(url);
    const db = health.database;
    say(
      `${health.status === 'ok' ? c.green('✔ healthy') : c.red(`✖ ${health.status}`)}: ` +
        `database ${db.kind}, ${db.reachable ? 'reachable' : 'unreachable'}` +
        (db.latency_ms === null ? '' : ` (${db.latency_ms} ms)`),
    );
    if (health.status !== 'ok') {
      throw new CliError(
        `The server at ${url} is not healthy: its database is unreachable.`,
        EXIT.refused,
      );
    }

    section('Step 2: Initial queue stats');
    const initialStats = await client.queueStats();
    for (const line of renderStats(initialStats, c)) say(line);

    section(`Step 3: Enqueue ${WORKFLOWS} workflows concurrently`);
    const enqueued = await enqueueConcurrently(client, parse(DEMO_SPEC_YAML) as ScoreSpec);
    enqueued.forEach((task, i) =>
      say(
        `  #${i + 1} ${c.bold(task.task_id)} ${task.status} in ${c.green(`${task.response_time_ms} ms`)}: ${task.message}`,
      ),
    );
    say(c.dim('  The API answers at once; the workflows (about 2 s each) run in the background.'));

    const ids = enqueued.map((task) => task.task_id);
    const tracker = trackTasks(client, ids);
    try {
      section('Step 4: Active tasks (while they run)');
      await withDeadline(tracker.allStarted, FINISH_DEADLINE_MS, 'the demo workflows to start');
      const active = await client.activeTasks();
      say(`  ${plural(active.count, 'active task')}`);
      for (const line of renderActiveTasks(active.tasks, c)) say(`  ${line}`);

      section('Step 5: Final queue stats (after they finish)');
      const started = performance.now();
      const outcomes = await withDeadline(
        tracker.allFinished,
        FINISH_DEADLINE_MS,
        'the demo workflows to finish',
      );
      const finalStats = await client.queueStats();
      const completed = outcomes.filter((status) => status === 'completed').length;
      say(
        `  ${completed} of ${WORKFLOWS} completed (waited ${formatDuration(performance.now() - started)})`,
      );
      for (const line of renderStats(finalStats, c)) say(line);

      section('Step 6: Task history (from the database)');
      const history = await client.tasks({ limit: 5 });
      for (const line of renderTaskHistory(history.tasks, c)) say(`  ${line}`);
      say(c.dim('  (times in UTC; total_time_ms = completed_at - enqueued_at)'));

      if (ctx.json) {
        const report: DemoReport = {
          server: { url, embedded: embedded !== undefined },
          health,
          initial_stats: initialStats,
          enqueued,
          active_tasks: active,
          final_stats: finalStats,
          task_history: history.tasks,
        };
        ctx.out.line(JSON.stringify(report, null, 2));
      }
      say();
      if (completed < WORKFLOWS) {
        say(c.red(`✖ Demo finished, but ${WORKFLOWS - completed} workflow(s) did not complete.`));
        return EXIT.taskFailed;
      }
      const slowest = Math.max(...enqueued.map((task) => task.response_time_ms));
      say(
        c.green(
          `✔ Demo complete: ${WORKFLOWS} workflows enqueued (slowest answer ${slowest} ms) and completed.`,
        ),
      );
      return EXIT.ok;
    } finally {
      tracker.stop();
    }
  } finally {
    if (embedded) {
      say(c.dim('Stopping the embedded server…'));
      await embedded.stop();
    }
  }
}

/** The guide's parallel curls: every enqueue at once, each timed from request to answer. */
function enqueueConcurrently(client: QueueClient, spec: ScoreSpec) {
  return Promise.all(
    Array.from({ length: WORKFLOWS }, async () => {
      const started = performance.now();
      const response = await client.enqueueSpec({ spec });
      return { ...response, response_time_ms: Math.round(performance.now() - started) };
    }),
  );
}

/** GET /health (not in the SDK: it is a plain HTTP probe, answered 503 when unhealthy). */
async function checkHealth(url: string): Promise<Health> {
  let response: Response;
  try {
    response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const timeout = (error as Error).name === 'TimeoutError';
    throw new QueueClientError(
      `Cannot reach the queue server at ${url}`,
      timeout ? 'TIMEOUT' : 'NETWORK_ERROR',
      undefined,
      undefined,
      { cause: error },
    );
  }
  const health = healthSchema.safeParse(await response.json().catch(() => undefined));
  if (!health.success) {
    throw new CliError(
      `GET ${url}/health answered ${response.status} without a health report: is this a queue server?`,
      EXIT.refused,
    );
  }
  return health.data;
}
