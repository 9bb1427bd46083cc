// Reading one task or a page of them, its logs, and cancelling or retrying it: the services
// behind `task`, `tasks`, `taskLogs`, `cancelTask` and `retryTask` and their REST routes.
import type { TaskRef } from '../queue/taskLifecycle.js';
import { TRPCError } from '@trpc/server';
import type {
  TaskAction,
  TaskDetail,
  TaskList,
  TaskListInput,
  TaskLogs,
} from '../../shared/tasks.js';
import type { RetryFrom } from '../../shared/scheduling.js';
import type { TaskStatus } from '../../shared/taskStatus.js';
import { toTRPCError } from '../errors.js';
import { CHANNELS, notify } from '../queue/channels.js';
import { readStatus, requestCancel, retryTask as retryTaskRow } from '../queue/changeTasks.js';
import {
  listTasks as listTaskRows,
  readTask,
  readTaskLog,
  readTaskOwner,
} from '../queue/readTasks.js';
import { resumeFailedTask, type ResumeResult } from '../queue/resumeTask.js';
import type { Principal, QueueServices } from './context.js';

/** How long a cancel waits for the node running the task to confirm it stopped. */
const CANCEL_WAIT_MS = 3_000;

const notFound = (taskId: string) =>
  new TRPCError({ code: 'NOT_FOUND', message: `No task ${taskId}.` });

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toTRPCError(error);
  }
}

export function getTask(services: QueueServices, taskId: string): Promise<TaskDetail> {
  return guarded(async () => {
    const task = await readTask(services.database, taskId);
    if (!task) throw notFound(taskId);
    return task;
  });
}

export function listTasks(services: QueueServices, input: TaskListInput): Promise<TaskList> {
  return guarded(() => listTaskRows(services.database, input));
}

export function getTaskLogs(
  services: QueueServices,
  taskId: string,
  offset = 0,
): Promise<TaskLogs> {
  return guarded(async () => {
    const log = await readTaskLog(services.database, taskId);
    if (!log) throw notFound(taskId);
    const from = Math.min(offset, log.text.length);
    return {
      id: taskId,
      attempt: log.attempt,
      status: log.status,
      offset: from,
      next_offset: log.text.length,
      text: log.text.slice(from),
      complete: log.status === 'completed' || log.status === 'failed' || log.status === 'cancelled',
    };
  });
}

/**
 * A pending task is cancelled at once. A running one is stopped by the node that runs it (its
 * process group gets SIGTERM, then SIGKILL); this waits briefly for that to be confirmed.
 */
export function cancelTask(
  services: QueueServices,
  taskId: string,
  principal: Principal,
): Promise<TaskAction> {
  return guarded(async () => {
    await checkOwner(services, taskId, principal, 'cancel');
    const result = await requestCancel(services.database, taskId, principal.user);
    switch (result.kind) {
      case 'not-found':
        throw notFound(taskId);
      case 'finished':
        throw new TRPCError({
          code: 'CONFLICT',
          message: `Task ${taskId} has already ${describeFinished(result.status)}; there is nothing to cancel.`,
        });
      case 'cancelled':
        services.logger.info({ taskId, user: principal.user }, 'task cancelled before it started');
        announce(services, taskId, (task) =>
          services.lifecycle.cancelledWhilePending(
            task,
            `cancelled by ${principal.user} before it started`,
          ),
        );
        return { id: taskId, status: 'cancelled', message: `Task ${taskId} cancelled.` };
      case 'cancelling': {
        services.logger.info(
          { taskId, user: principal.user, node: result.lockedBy },
          'cancelling a running task',
        );
        if (!services.stopLocalTask(result.rowId) && services.database.kind === 'postgres') {
          await notify(services.database, CHANNELS.cancelTask, String(result.rowId));
        }
        const status = await waitWhileRunning(services, taskId);
        return {
          id: taskId,
          status,
          message:
            status === 'running'
              ? `Task ${taskId} is being stopped; it will end as cancelled.`
              : `Task ${taskId} ${status === 'cancelled' ? 'cancelled' : `ended ${status} before it could be cancelled`}.`,
        };
      }
    }
  });
}

/**
 * Queues a failed or cancelled task again: from its first step, or (`from: 'failed'`, failed
 * tasks only) from the first step its latest attempt did not complete, in the working directory
 * that attempt left.
 */
export function retryTask(
  services: QueueServices,
  taskId: string,
  principal: Principal,
  from: RetryFrom = 'start',
): Promise<TaskAction> {
  return guarded(async () => {
    await checkOwner(services, taskId, principal, 'retry');
    const result: ResumeResult =
      from === 'failed'
        ? await resumeFailedTask(services.database, taskId)
        : await retryTaskRow(services.database, taskId);
    switch (result.kind) {
      case 'not-found':
        throw notFound(taskId);
      case 'not-retryable':
        throw new TRPCError({
          code: 'CONFLICT',
          message:
            from === 'failed'
              ? `Task ${taskId} is ${result.status}; only failed tasks can be retried from the failed step.`
              : `Task ${taskId} is ${result.status}; only failed or cancelled tasks can be retried.`,
        });
      case 'retried': {
        const fromStep = result.fromStep;
        services.logger.info(
          { taskId, user: principal.user, from, fromStep },
          'task queued again by a retry',
        );
        announce(services, taskId, (task) => services.lifecycle.retried(task));
        return {
          id: taskId,
          status: 'pending',
          message:
            fromStep != null && fromStep > 0
              ? `Task ${taskId} queued again from step ${fromStep + 1}.`
              : `Task ${taskId} queued again.`,
        };
      }
    }
  });
}

/** A developer token changes only the tasks its user created; admin tokens change any. */
async function checkOwner(
  services: QueueServices,
  taskId: string,
  principal: Principal,
  action: 'cancel' | 'retry',
): Promise<void> {
  if (principal.role === 'admin') return;
  const owner = await readTaskOwner(services.database, taskId);
  if (owner === undefined) throw notFound(taskId);
  if (owner !== principal.user) {
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `User '${principal.user}' has a developer token and may ${action} only the tasks it created; task ${taskId} was created by '${owner}'.`,
    });
  }
}

async function waitWhileRunning(services: QueueServices, taskId: string): Promise<TaskStatus> {
  const deadline = Date.now() + CANCEL_WAIT_MS;
  let wake = () => {};
  // A status event for the task ends the wait early; the database has the last word.
  const unsubscribe = services.events.subscribe((event) => {
    if (event.type === 'task.status' && event.task_id === taskId) wake();
  });
  try {
    for (;;) {
      const status = (await readStatus(services.database, taskId)) ?? 'cancelled';
      if (status !== 'running' || Date.now() >= deadline) return status;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    unsubscribe();
  }
}

/** Hands the task, as it is now, to a lifecycle method (which needs its app and attempt). */
function announce(
  services: QueueServices,
  taskId: string,
  transition: (task: TaskRef) => void,
): void {
  void readTask(services.database, taskId).then(
    (task) => task && transition({ taskId, appName: task.app_name, attempt: task.attempts }),
    () => undefined,
  );
}

function describeFinished(status: TaskStatus): string {
  return status === 'completed' ? 'completed' : status === 'failed' ? 'failed' : 'been cancelled';
}
