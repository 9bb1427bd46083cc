// `enqueue <file…>`: sends a Score spec; with --wait, shows the task's steps and output as they
// run and exits with its outcome. Several specs (several files, or multi-document YAML) go in one
// batch: stored together or not at all.
import type { Command } from 'commander';
import {
  QueueClientError,
  type EnqueueResponse,
  type EnqueueSpecsResponse,
  type ScoreSpec,
} from '@innominatus-queue/client';
import { action, type CliContext } from '../action.js';
import { duration, integerIn } from '../argParsers.js';
import { CliError, EXIT, exitCodeForStatus, type ExitCode } from '../exitCodes.js';
import { untilInterrupted } from '../waiting.js';
import { readSpecFiles, type SpecSource } from '../specFile.js';
import { followTask } from '../taskFollower.js';
import { outcomeLine, progressView } from '../taskViews.js';

interface EnqueueOptions {
  goldenPath?: string;
  priority?: number;
  idempotencyKey?: string;
  at?: string;
  in?: number;
  wait?: boolean;
  quiet?: boolean;
}

export function registerEnqueue(program: Command): void {
  program
    .command('enqueue')
    .description(
      'enqueue the workflow of Score specs (YAML or JSON; - reads stdin); several specs go in one batch',
    )
    .argument(
      '<files...>',
      'Score spec files, e.g. test-score.yaml; a file may hold several YAML documents (---)',
    )
    .option('--golden-path <name>', "golden path to run (default: the server's, deploy-app)")
    .option('--priority <n>', 'higher runs first, -1000..1000 (default: 0)', integerIn(-1000, 1000))
    .option('--idempotency-key <key>', 'the same key returns the same task for 24 hours')
    .option('--at <time>', 'start it at this RFC 3339 time, e.g. 2026-12-24T18:00:00Z')
    .option('--in <duration>', 'start it after this long: 90s, 10m, 2h, 1d', duration)
    .option(
      '--wait',
      'follow the task: show its steps and output; exit 0 completed, 1 failed, 2 cancelled',
    )
    .option('-q, --quiet', 'print only the task id (with --wait, nothing more: see the exit code)')
    .addHelpText(
      'after',
      `
With -q: the task id alone, for scripts (id=$(iq enqueue -q spec.yaml)). With --json: the
server's answer ({"message", "application", "task_id", "status"}); with
--wait --json: {"enqueued": <that answer>, "task": <the finished task>}. Several specs (up to
1,000) are one batch, all stored or none: --json prints {"tasks": [{"task_id", "application",
"status", "created"}, …]} in the order of the specs; --wait and --idempotency-key take one spec.`,
    )
    .action(action<[string[]], EnqueueOptions>(enqueue, { fieldPrefix: 'spec.', subject: 'spec' }));
}

async function enqueue(
  ctx: CliContext,
  [files]: [string[]],
  options: EnqueueOptions,
): Promise<ExitCode> {
  const sources = await readSpecFiles(files);
  if (sources.length > 1) return enqueueBatch(ctx, sources, options);
  const response = await ctx.client.enqueueSpec({
    // The server checks every rule and names each failing field.
    spec: sources[0]!.spec as ScoreSpec,
    goldenPath: options.goldenPath,
    priority: options.priority,
    idempotencyKey: options.idempotencyKey,
    runAt: options.at,
    delaySeconds: options.in,
  });
  if (options.quiet) ctx.out.line(response.task_id);
  if (!options.wait) {
    if (options.quiet) return EXIT.ok;
    if (ctx.json) ctx.out.line(JSON.stringify(response, null, 2));
    else printEnqueued(ctx, response, true);
    return EXIT.ok;
  }
  if (!ctx.json && !options.quiet) printEnqueued(ctx, response, false);
  return waitForTask(ctx, response, options.quiet === true);
}

const MAX_BATCH = 1_000;

async function enqueueBatch(
  ctx: CliContext,
  sources: SpecSource[],
  options: EnqueueOptions,
): Promise<ExitCode> {
  if (options.wait || options.idempotencyKey !== undefined) {
    throw new CliError(
      `${options.wait ? '--wait' : '--idempotency-key'} takes one spec; these files hold ${sources.length}.`,
      EXIT.refused,
    );
  }
  if (sources.length > MAX_BATCH) {
    throw new CliError(
      `A batch holds at most ${MAX_BATCH} specs; these files hold ${sources.length}.`,
      EXIT.refused,
    );
  }
  let response: EnqueueSpecsResponse;
  try {
    response = await ctx.client.enqueueSpecs({
      specs: sources.map((s) => ({
        spec: s.spec as ScoreSpec,
        goldenPath: options.goldenPath,
        priority: options.priority,
      })),
    });
  } catch (error) {
    throw nameSources(error, sources);
  }
  if (options.quiet) {
    for (const task of response.tasks) ctx.out.line(task.task_id);
    return EXIT.ok;
  }
  if (ctx.json) {
    ctx.out.line(JSON.stringify(response, null, 2));
    return EXIT.ok;
  }
  const c = ctx.out.color;
  ctx.out.line(`${c.green('✔')} ${response.tasks.length} specs enqueued in one batch:`);
  response.tasks.forEach((task, i) => {
    ctx.out.line(`  ${c.bold(task.task_id)} (${task.application}) from ${sources[i]!.label}`);
  });
  return EXIT.ok;
}

/** `specs[2].spec.metadata.name` → `b.yaml (document 2): metadata.name`. */
function nameSources(error: unknown, sources: SpecSource[]): unknown {
  if (!(error instanceof QueueClientError) || !error.details) return error;
  const details = error.details.map((problem) => {
    const match = /^specs\[(\d+)\](?:\.spec)?\.?(.*)$/.exec(problem.path);
    const source = match ? sources[Number(match[1])] : undefined;
    if (!match || !source) return problem;
    return { path: `${source.label}: ${match[2] || '(root)'}`, message: problem.message };
  });
  return new QueueClientError(error.message, error.code, error.httpStatus, details, {
    cause: error,
  });
}

function printEnqueued(ctx: CliContext, response: EnqueueResponse, hint: boolean): void {
  const c = ctx.out.color;
  ctx.out.line(
    `${c.green('✔')} ${response.message}: ${c.bold(response.task_id)} (${response.application})`,
  );
  if (hint) ctx.out.line(c.dim(`  follow it: innominatus-queue logs --follow ${response.task_id}`));
}

async function waitForTask(
  ctx: CliContext,
  response: EnqueueResponse,
  quiet: boolean,
): Promise<ExitCode> {
  const taskId = response.task_id;
  // JSON lines of the events would go to stdout; --json keeps stdout for the one final document.
  const view = ctx.json || quiet ? () => undefined : progressView(ctx.out, taskId);
  const follow = followTask(ctx.client, taskId, view);
  const result = await untilInterrupted(follow.finished);
  if (result === 'interrupted') {
    follow.stop();
    ctx.err.line(
      `Stopped waiting; task ${taskId} goes on. Follow it again: innominatus-queue logs --follow ${taskId}`,
    );
    return EXIT.interrupted;
  }
  if (quiet) return exitCodeForStatus(result.status);
  if (ctx.json) ctx.out.line(JSON.stringify({ enqueued: response, task: result }, null, 2));
  else ctx.out.line(outcomeLine(result, ctx.out));
  return exitCodeForStatus(result.status);
}
