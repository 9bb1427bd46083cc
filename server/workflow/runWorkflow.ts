// Runs a claimed task's workflow: its steps in order, in a fresh working directory that is
// removed afterwards; the first failing step ends the attempt.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { bashStepConfigSchema, type WorkflowStep } from '../../shared/spec.js';
import type { Config } from '../config.js';
import type { Queryable } from '../db/database.js';
import type { ClaimedTask, TaskOutcome } from '../queue/types.js';
import { runBashStep, type BashStepResult } from './bashStep.js';
import { recordStepEnd, recordStepStart, type StepStatus } from './stepRecords.js';

/** Why a running task is being stopped from outside; passed as the AbortSignal's reason. */
export type StopReason = 'cancel' | 'shutdown' | 'lease-lost';

export interface WorkflowRunnerDeps {
  db: Queryable;
  steps: Config['steps'];
  logger: Logger;
  /** Steps run as this user when set (the server runs as root). */
  stepUser?: { uid: number; gid: number } | undefined;
}

export async function runWorkflow(
  task: ClaimedTask,
  deps: WorkflowRunnerDeps,
  signal: AbortSignal,
): Promise<TaskOutcome> {
  if (task.steps.length === 0) return { kind: 'completed' };
  await fs.mkdir(deps.steps.workDir, { recursive: true });
  const workDir = await fs.mkdtemp(path.join(deps.steps.workDir, `${task.taskId}-`));
  try {
    if (deps.stepUser) await fs.chown(workDir, deps.stepUser.uid, deps.stepUser.gid);
    for (const [position, step] of task.steps.entries()) {
      if (signal.aborted) return stoppedOutcome(signal, step.name);
      const outcome = await runStep(task, step, position, workDir, deps, signal);
      if (outcome.kind !== 'completed') return outcome;
    }
    return { kind: 'completed' };
  } finally {
    await fs.rm(workDir, { recursive: true, force: true }).catch((error: unknown) => {
      deps.logger.warn({ err: error, workDir }, 'could not remove a task working directory');
    });
  }
}

async function runStep(
  task: ClaimedTask,
  step: WorkflowStep,
  position: number,
  workDir: string,
  deps: WorkflowRunnerDeps,
  signal: AbortSignal,
): Promise<TaskOutcome> {
  const record = { taskRowId: task.id, attempt: task.attempt, position };
  const log = deps.logger.child({ taskId: task.taskId, step: step.name });
  await bestEffort(log, 'record step start', () =>
    recordStepStart(deps.db, { ...record, name: step.name, type: step.type }),
  );
  // Validated at enqueue; parsed again because the row could predate a stricter schema.
  const config = bashStepConfigSchema.parse(step.config);
  const timeoutMs =
    config.timeout !== undefined ? config.timeout * 1000 : deps.steps.defaultTimeoutMs;
  const started = performance.now();
  const result = await runBashStep({
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
    uid: deps.stepUser?.uid,
    gid: deps.stepUser?.gid,
  });
  const outcome = stepOutcome(step.name, result, timeoutMs, signal);
  const status: StepStatus =
    outcome.kind === 'completed' ? 'completed' : outcome.kind === 'failed' ? 'failed' : 'cancelled';
  log.debug(
    { status, exitCode: result.exitCode, durationMs: Math.round(performance.now() - started) },
    'step ended',
  );
  await bestEffort(log, 'record step end', () =>
    recordStepEnd(deps.db, record, {
      status,
      exitCode: result.exitCode,
      output: result.output,
      outputBytes: result.outputBytes,
      error: outcome.kind === 'completed' || outcome.kind === 'released' ? null : outcome.error,
    }),
  );
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
