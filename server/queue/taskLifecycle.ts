// What follows every change of a task's state, in one place: the row is changed by its verb's
// fenced statement (claimTasks, finishTasks, recoverTasks, changeTasks, insertTask), and then the
// lifecycle counts it (metrics), tells live subscribers (one `task.status` event, built here and
// nowhere else) and wakes the nodes that may now claim. A transition added later calls one method
// here and cannot forget one of the three.
import type { TaskSource } from '../../shared/api.js';
import type { TaskEvent } from '../../shared/events.js';
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { EventHub } from '../events/eventHub.js';
import type { QueueMetrics } from '../metrics.js';
import type { RecoveredTask } from './recoverTasks.js';
import type { ClaimedTask, TaskOutcome } from './types.js';

/** What a transition names of its task. */
export interface TaskRef {
  taskId: string;
  appName: string;
  attempt: number;
}

export interface TaskLifecycleDeps {
  events: Pick<EventHub, 'publish'>;
  metrics: QueueMetrics;
  /** Wakes this node's workers and (on PostgreSQL) every other node's: a task may be claimed. */
  wakeAll: () => void;
  /** Wakes the other nodes only (this node's worker already knows). */
  wakeOthers: () => void;
  /** Sets the workers' timers for a task that may run only from `at`. */
  wakeAt: (at: Date) => void;
  /** Most tasks of one application running at once; a finished task may free a slot. */
  appLimit: number;
}

export class TaskLifecycle {
  constructor(private readonly deps: TaskLifecycleDeps) {}

  /** New tasks are stored (`pending`, attempt 0). */
  enqueued(
    tasks: readonly { taskId: string; appName: string }[],
    source: TaskSource,
    runAt?: Date,
  ): void {
    if (tasks.length === 0) return;
    if (runAt && runAt.getTime() > Date.now()) this.deps.wakeAt(runAt);
    else this.deps.wakeAll();
    this.deps.metrics.taskEnqueued(source, tasks.length);
    // Stored by one commit: one time for all of them.
    const at = new Date().toISOString();
    for (const task of tasks) {
      this.publish({ taskId: task.taskId, appName: task.appName, attempt: 0 }, 'pending', null, at);
    }
  }

  /** A node claimed a task and starts its attempt. */
  started(task: ClaimedTask): void {
    this.deps.metrics.taskStarted(task.startedAt.getTime() - task.enqueuedAt.getTime());
    this.publish(task, 'running', null);
  }

  /** An attempt's result is stored: the task's new status. */
  finished(task: ClaimedTask, outcome: TaskOutcome, status: TaskStatus): void {
    this.deps.metrics.attemptFinished(
      status,
      outcome.kind === 'released' && status === 'pending',
      Date.now() - task.startedAt.getTime(),
    );
    this.publish(task, status, 'error' in outcome ? outcome.error : null);
    // A task handed back is for any node to take; under a per-application limit a finished task
    // frees a slot another node may be waiting for.
    if (status === 'pending' || this.deps.appLimit > 0) this.deps.wakeOthers();
  }

  /**
   * A node gave back a task it had claimed but not started: nothing changed for watchers or
   * metrics (the task never left `pending` for them); other nodes may take it.
   */
  returned(): void {
    this.deps.wakeOthers();
  }

  /** An expired lease was given back (`pending`) or ended (`failed`, `cancelled`). */
  recovered(task: RecoveredTask): void {
    this.deps.metrics.taskRecovered();
    this.publish(task, task.status, task.errorMessage);
    if (task.status === 'pending' || this.deps.appLimit > 0) this.deps.wakeAll();
  }

  /** A pending task was cancelled by request. */
  cancelledWhilePending(task: TaskRef, error: string): void {
    this.deps.metrics.taskCancelledWhilePending();
    this.publish(task, 'cancelled', error);
  }

  /** A failed or cancelled task was queued again by hand. */
  retried(task: TaskRef): void {
    this.deps.metrics.taskRetriedByHand();
    this.deps.wakeAll();
    this.publish(task, 'pending', null);
  }

  private publish(task: TaskRef, status: TaskStatus, error: string | null, at?: string): void {
    this.deps.events.publish(taskStatusEvent(task, status, error, at));
  }
}

/** The one `task.status` event shape: for transitions here, and a stream's opening snapshot. */
export function taskStatusEvent(
  task: TaskRef,
  status: TaskStatus,
  error: string | null,
  at = new Date().toISOString(),
): Extract<TaskEvent, { type: 'task.status' }> {
  return {
    type: 'task.status',
    task_id: task.taskId,
    app_name: task.appName,
    status,
    attempt: task.attempt,
    error_message: error,
    at,
  };
}
