// Runs a claimed task's workflow: its steps in order, in a fresh working directory that is
// removed afterwards; the first failing step ends the attempt.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { bashStepConfigSchema, type WorkflowStep } from '../../shared/spec.js';
import type { Config } from '../config.js';
import type { TaskEvent } from '../../shared/events.js';
import type { Queryable } from '../db/database.js';
import type { ClaimedTask, TaskOutcome } from '../queue/types.js';
import { runBashStep, type BashStepResult } from './bashStep.js';
import type { FailedWorkDirs } from './failedWorkDirs.js';
import { LiveOutput } from './liveOutput.js';
import type { SpawnStep } from './stepProcess.js';
import { sandboxArgs, type StepSandbox } from './stepSandbox.js';
import type { StepRecordBatcher } from './stepRecordBatcher.js';
import { recordStepOutput, type StepStatus } from './stepRecords.js';

/** How often a running step's output so far is saved, for readers of the task and its logs. */
const SAVE_OUTPUT_MS = 1_000;

/** Why a running task is being stopped from outside; passed as the AbortSignal's reason. */
export type StopReason = 'cancel' | 'shutdown' | 'lease-lost';

export interface WorkflowRunnerDeps {
  db: Queryable;
  /** Writes the steps' rows (queue_task_steps), shared by the node's tasks. */
  stepRecords: StepRecordBatcher;
  steps: Config['steps'];
  logger: Logger;
  /** Steps run as this user when set (the server runs as root). */
  stepUser?: { uid: number; gid: number } | undefined;
  /** Steps run in this bubblewrap sandbox when set. */
  sandbox?: StepSandbox | undefined;
  /** Who forks the steps (the server's StepLauncher); default: this process. */
  spawn?: SpawnStep | undefined;
  /** Where step starts, ends and output go for live subscribers. */
  publish?: ((event: TaskEvent) => void) | undefined;
  /** Told of every step's duration. */
  onStepFinished?:
    ((step: { type: string; status: StepStatus; durationMs: number }) => void) | undefined;
  /** Keeps failed attempts' working directories and resumes from them (retry from=failed). */
  failedWorkDirs?: FailedWorkDirs | undefined;
}

export async function runWorkflow(
  task: ClaimedTask,
  deps: WorkflowRunnerDeps,
  signal: AbortSignal,
): Promise<TaskOutcome> {
  if (task.steps.length === 0) return { kind: 'completed' };
  const resumed = await deps.failedWorkDirs?.resume(task);
  const workDir = resumed?.workDir ?? (await freshWorkDir(deps.steps.workDir, task.taskId));
  let failed = false;
  // In the sandbox, the task's /tmp: shared by its steps, seen by no other task.
  const tmpDir = deps.sandbox ? `${workDir}-tmp` : undefined;
  try {
    if (tmpDir) await fs.mkdir(tmpDir, { mode: 0o700, recursive: true });
    for (const dir of [workDir, tmpDir]) {
      if (deps.stepUser && dir) await fs.chown(dir, deps.stepUser.uid, deps.stepUser.gid);
    }
    const dirs = { workDir, tmpDir };
    // The last step's outcome may carry its row (see runStep).
    let outcome: TaskOutcome = { kind: 'completed' };
    for (const [position, step] of task.steps.entries()) {
      if (position < (resumed?.fromStep ?? 0)) continue;
      if (signal.aborted) return stoppedOutcome(signal, step.name);
      outcome = await runStep(task, step, position, dirs, deps, signal);
      failed = outcome.kind === 'failed';
      if (outcome.kind !== 'completed') return outcome;
    }
    return outcome;
  } finally {
    const keep = failed && deps.failedWorkDirs;
    await (keep ? keep.keep(task, workDir) : removeDir(workDir)).catch((error: unknown) => {
      deps.logger.warn({ err: error, workDir }, 'could not remove a task working directory');
    });
    if (tmpDir) {
      await removeDir(tmpDir).catch((error: unknown) => {
        deps.logger.warn({ err: error, tmpDir }, 'could not remove a task /tmp directory');
      });
    }
  }
}

/** A new directory under `base` (created first if it is missing: someone may have removed it). */
async function freshWorkDir(base: string, taskId: string): Promise<string> {
  const prefix = path.join(base, `${taskId}-`);
  try {
    return await fs.mkdtemp(prefix);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await fs.mkdir(base, { recursive: true });
    return fs.mkdtemp(prefix);
  }
}

/** Most steps leave their directory empty: one `rmdir`, and the recursive removal otherwise. */
async function removeDir(dir: string): Promise<void> {
  try {
    await fs.rmdir(dir);
  } catch {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function runStep(
  task: ClaimedTask,
  step: WorkflowStep,
  position: number,
  { workDir, tmpDir }: { workDir: string; tmpDir: string | undefined },
  deps: WorkflowRunnerDeps,
  signal: AbortSignal,
): Promise<TaskOutcome> {
  // The step's row: its key (which its output updates use too), name and type.
  const record = {
    taskRowId: task.id,
    attempt: task.attempt,
    position,
    name: step.name,
    type: step.type,
  };
  const ids = { task_id: task.taskId, attempt: task.attempt, position };
  const log = deps.logger.child({ taskId: task.taskId, step: step.name });
  // The row is written while the step runs, or with its end if the step is that quick.
  const started = deps.stepRecords.start(record);
  deps.publish?.({ type: 'step.started', ...ids, name: step.name, at: new Date().toISOString() });
  // Validated at enqueue; parsed again because the row could predate a stricter schema.
  const config = bashStepConfigSchema.parse(step.config);
  const timeoutMs =
    config.timeout !== undefined ? config.timeout * 1000 : deps.steps.defaultTimeoutMs;
  const live = deps.publish
    ? new LiveOutput((text, skipped) =>
        deps.publish?.({ type: 'step.output', ...ids, text, skipped }),
      )
    : undefined;
  let latest: { text: () => string; bytes: number } | undefined;
  let saved = 0;
  const saver = setInterval(() => {
    if (!latest || latest.bytes === saved) return;
    saved = latest.bytes;
    void bestEffort(log, 'save step output', () =>
      recordStepOutput(deps.db, record, latest!.text(), saved),
    );
  }, SAVE_OUTPUT_MS);
  const startedAt = performance.now();
  let result: BashStepResult;
  try {
    result = await runBashStep({
      command: config.command,
      cwd: workDir,
      env: {
        ...config.env,
        PATH: config.env?.PATH ?? deps.steps.path,
        LANG: config.env?.LANG ?? 'C.UTF-8',
        HOME: workDir,
        APP_NAME: task.appName,
        TASK_ID: task.taskId,
        WORKFLOW_NAME: task.workflowName,
        STEP_NAME: step.name,
      },
      timeoutMs,
      killGraceMs: deps.steps.killGraceMs,
      outputLimitBytes: deps.steps.outputLimitBytes,
      signal,
      spawn: deps.spawn,
      uid: deps.stepUser?.uid,
      gid: deps.stepUser?.gid,
      sandbox:
        deps.sandbox && tmpDir
          ? { file: deps.sandbox.bwrap, args: sandboxArgs(deps.sandbox, { workDir, tmpDir }) }
          : undefined,
      onOutput: (chunk, tail) => {
        live?.push(chunk);
        latest = tail;
      },
    });
  } finally {
    clearInterval(saver);
    live?.flush();
  }
  const durationMs = Math.round(performance.now() - startedAt);
  const outcome = stepOutcome(step.name, result, timeoutMs, signal);
  const status: StepStatus =
    outcome.kind === 'completed' ? 'completed' : outcome.kind === 'failed' ? 'failed' : 'cancelled';
  const error = outcome.kind === 'completed' || outcome.kind === 'released' ? null : outcome.error;
  log.debug({ status, exitCode: result.exitCode, durationMs }, 'step ended');
  const end = {
    status,
    exitCode: result.exitCode,
    output: result.output,
    outputBytes: result.outputBytes,
    error,
  };
  // The step that ends the workflow: its row may go with the task's result, in one statement.
  const last = outcome.kind !== 'completed' || position === task.steps.length - 1;
  let carried = false;
  if (last && outcome.kind !== 'released') {
    outcome.stepRow = started.handOver(end);
    carried = outcome.stepRow !== undefined;
  }
  if (!carried) await started.end(end);
  deps.publish?.({
    type: 'step.finished',
    ...ids,
    name: step.name,
    status,
    exit_code: result.exitCode,
    duration_ms: durationMs,
    error,
    at: new Date().toISOString(),
  });
  deps.onStepFinished?.({ type: step.type, status, durationMs });
  return outcome;
}

function stepOutcome(
  name: string,
  result: BashStepResult,
  timeoutMs: number,
  signal: AbortSignal,
): TaskOutcome {
  if (result.aborted) return stoppedOutcome(signal, name);
  if (result.spawnError)
    return { kind: 'failed', error: `step '${name}' could not start: ${result.spawnError}` };
  if (result.timedOut) {
    return {
      kind: 'failed',
      error: `step '${name}' timed out after ${formatSeconds(timeoutMs)}; its process group was killed`,
    };
  }
  if (result.exitCode === 0) return { kind: 'completed' };
  if (result.exitCode === null) {
    return { kind: 'failed', error: `step '${name}' was killed by ${result.signal ?? 'a signal'}` };
  }
  const last = result.stderrLastLine;
  return {
    kind: 'failed',
    error: `step '${name}' failed with exit code ${result.exitCode}${last ? `: ${last}` : ''}`,
  };
}

function stoppedOutcome(signal: AbortSignal, stepName: string): TaskOutcome {
  const reason = signal.reason as StopReason;
  if (reason === 'cancel')
    return { kind: 'cancelled', error: `cancelled during step '${stepName}'` };
  // Shutdown or a lost lease: the task goes back to the queue (a lost lease's write is fenced).
  return { kind: 'released' };
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}

async function bestEffort(log: Logger, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    log.warn({ err: error }, `could not ${what}; the step runs on`);
  }
}
