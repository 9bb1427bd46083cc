// The worker side of a node: claims tasks from queue_tasks and runs them in a p-queue of
// QUEUE_CONCURRENCY, keeps their leases alive, writes their results (fenced, in batches), gives
// back the tasks of dead nodes, and drains on shutdown. See types.ts for the glossary.
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { StopReason } from '../workflow/runWorkflow.js';
import { CHANNELS } from './channels.js';
import { claimTasks } from './claimTasks.js';
import { FinishBatcher, type AttemptResult } from './finishBatcher.js';
import type { RetryPolicy } from './finishTasks.js';
import { heartbeat, markNodeDraining, pruneDeadNodes, registerNode, removeNode } from './nodes.js';
import { recoverTasks, type RecoveredTask } from './recoverTasks.js';
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { ClaimedTask, TaskOutcome } from './types.js';

export interface WorkerOptions {
  database: Database;
  nodeId: string;
  /** Tasks run at once on this node; 0 makes it API-only (it never claims). */
  concurrency: number;
  /** How long a claim holds without a heartbeat. */
  leaseMs: number;
  heartbeatMs: number;
  /** How often this node looks for expired leases of other nodes. */
  recoveryIntervalMs: number;
  /** Fallback poll, for notifications lost and for retries whose backoff ended. */
  pollIntervalMs: number;
  /** Times a task may be lost with its node before it fails. */
  maxLost: number;
  /** Most tasks of one application running at once across the cluster; 0 for no limit. */
  appLimit: number;
  retry: RetryPolicy;
  logger: Logger;
  run: (task: ClaimedTask, signal: AbortSignal) => Promise<TaskOutcome>;
  /** Told of every task this node starts and of every result it stores. */
  onTaskStarted?: (task: ClaimedTask) => void;
  onTaskFinished?: (task: ClaimedTask, outcome: TaskOutcome, status: TaskStatus) => void;
  /** Told of every task this node took back from a dead node. */
  onTaskRecovered?: (task: RecoveredTask) => void;
}

interface Execution {
  task: ClaimedTask;
  controller: AbortController;
}

type State = 'new' | 'running' | 'draining' | 'stopped';

export class QueueWorker {
  private state: State = 'new';
  private readonly pq: PQueue;
  /** Tasks whose workflow is running: they occupy the worker slots. */
  private readonly executing = new Map<number, Execution>();
  /** Tasks this node holds a lease on: executing, or finished with the result not yet stored. */
  private readonly held = new Set<number>();
  private readonly finisher: FinishBatcher;
  private claiming = false;
  /** A wake-up for the earliest retry whose backoff ends, so it does not wait for the poll. */
  private retryWake: { at: number; timer: NodeJS.Timeout } | undefined;
  private claimAgain = false;
  /** A wake() scheduled for the end of this turn of the event loop. */
  private wakeScheduled = false;
  /** Results handed to the finisher and not yet stored. */
  private readonly storing = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unlisten: (() => Promise<void>)[] = [];
  private readonly log: Logger;

  constructor(private readonly options: WorkerOptions) {
    this.pq = new PQueue({ concurrency: Math.max(1, options.concurrency) });
    this.log = options.logger.child({ nodeId: options.nodeId });
    this.finisher = new FinishBatcher(options.database, options.nodeId, options.retry, this.log);
  }

  get concurrency(): number {
    return this.options.concurrency;
  }

  /** Row ids of the tasks executing on this node. */
  get executingTaskIds(): number[] {
    return [...this.executing.keys()];
  }

  async start(): Promise<void> {
    const { database, nodeId, concurrency } = this.options;
    await registerNode(database, { id: nodeId, concurrency });
    this.state = 'running';
    if (database.kind === 'pglite') {
      // One process owns the embedded database: any task still `running` was left by a server
      // that died, and can be given back at once instead of after its lease.
      await this.recover(true);
    }
    if (concurrency > 0) {
      this.unlisten.push(
        await database.listen(
          CHANNELS.newTask,
          () => this.wake(),
          () => this.wake(),
        ),
      );
      this.every(this.options.pollIntervalMs, () => this.wake());
    }
    this.unlisten.push(
      await database.listen(CHANNELS.cancelTask, (payload) =>
        this.cancelLocal(Number(payload), 'cancel'),
      ),
    );
    this.every(this.options.heartbeatMs, () => this.beat());
    this.every(this.options.recoveryIntervalMs, () => this.recover(false));
    this.wake();
  }

  /** Claims as many tasks as there are free slots. Cheap to call often: calls coalesce. */
  wake(): void {
    if (this.state !== 'running' || this.options.concurrency === 0) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    void this.claimLoop();
  }

  /** wake(), once for every slot freed in this turn of the event loop. */
  private wakeSoon(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wake();
    });
  }

  /** Stops a task this node runs, if it runs it. Returns whether it did. */
  cancelLocal(taskRowId: number, reason: StopReason): boolean {
    const execution = this.executing.get(taskRowId);
    if (!execution || execution.controller.signal.aborted) return false;
    this.log.info({ taskId: execution.task.taskId, reason }, 'stopping task');
    execution.controller.abort(reason);
    return true;
  }

  /**
   * Stops claiming, lets running tasks finish for up to `timeoutMs`, then stops the rest and hands
   * them back to the queue (not counted as an attempt), stores every result, and leaves the
   * cluster.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.state === 'stopped' || this.state === 'draining') return;
    const wasRunning = this.state === 'running';
    this.state = 'draining';
    const { database, nodeId } = this.options;
    if (wasRunning) {
      await markNodeDraining(database, nodeId).catch((error: unknown) =>
        this.log.warn({ err: error }, 'could not mark this node as draining'),
      );
    }
    if (this.executing.size > 0) {
      this.log.info(
        { running: this.executing.size, timeoutMs },
        'draining: waiting for running tasks',
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.pq.onIdle(),
        new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    if (this.executing.size > 0) {
      this.log.warn(
        { tasks: this.executing.size },
        'draining: handing unfinished tasks back to the queue',
      );
      for (const id of this.executing.keys()) this.cancelLocal(id, 'shutdown');
    }
    await this.pq.onIdle();
    await this.finisher.drain(Math.max(timeoutMs, 5_000));
    await Promise.all(this.storing);
    for (const timer of this.timers) clearInterval(timer);
    if (this.retryWake) clearTimeout(this.retryWake.timer);
    await Promise.all(this.unlisten.map((u) => u().catch(() => undefined)));
    if (wasRunning) {
      await removeNode(database, nodeId).catch((error: unknown) =>
        this.log.warn({ err: error }, 'could not remove this node from queue_nodes'),
      );
    }
    this.state = 'stopped';
  }

  private async claimLoop(): Promise<void> {
    for (;;) {
      this.claimAgain = false;
      const free = this.options.concurrency - this.executing.size;
      if (free > 0 && this.state === 'running') {
        try {
          const tasks = await claimTasks(this.options.database, {
            nodeId: this.options.nodeId,
            limit: free,
            leaseMs: this.options.leaseMs,
            appLimit: this.options.appLimit,
          });
          for (const task of tasks) this.execute(task);
          // A full batch means more may be waiting.
          if (tasks.length === free) this.claimAgain = true;
        } catch (error) {
          // The poll tries again; no tight loop against a database that is down.
          this.log.warn({ err: error }, 'could not claim tasks');
          this.claimAgain = false;
        }
      }
      if (!this.claimAgain) {
        this.claiming = false;
        return;
      }
    }
  }

  private execute(task: ClaimedTask): void {
    const execution: Execution = { task, controller: new AbortController() };
    this.executing.set(task.id, execution);
    this.held.add(task.id);
    this.log.info(
      {
        taskId: task.taskId,
        app: task.appName,
        attempt: task.attempt,
        queuedMs: task.startedAt.getTime() - task.enqueuedAt.getTime(),
      },
      'task started',
    );
    this.options.onTaskStarted?.(task);
    void this.pq.add(async () => {
      let outcome: TaskOutcome;
      try {
        outcome = await this.options.run(task, execution.controller.signal);
      } catch (error) {
        this.log.error({ err: error, taskId: task.taskId }, 'task runner failed');
        outcome = { kind: 'failed', error: `internal error: ${(error as Error).message}` };
      }
      this.executing.delete(task.id);
      // The slot is free before the result is stored: the write happens outside the p-queue job,
      // in a batch with the results of other tasks, while the next task already runs.
      const storing = this.store(
        { id: task.id, taskId: task.taskId, attempt: task.attempt, outcome },
        task,
      )
        .catch((error: unknown) =>
          this.log.error({ err: error, taskId: task.taskId }, 'could not record the end of a task'),
        )
        .finally(() => this.storing.delete(storing));
      this.storing.add(storing);
      this.wakeSoon();
    });
  }

  private async store(result: AttemptResult, task: ClaimedTask): Promise<void> {
    const written = await this.finisher.add(result);
    this.held.delete(task.id);
    const elapsedMs = Date.now() - task.startedAt.getTime();
    if ('fenced' in written) {
      this.log.warn(
        { taskId: task.taskId, attempt: task.attempt, outcome: result.outcome.kind },
        'dropped the result of a task this node no longer holds (its lease was lost)',
      );
      return;
    }
    const error = 'error' in result.outcome ? result.outcome.error : undefined;
    const fields = {
      taskId: task.taskId,
      app: task.appName,
      attempt: task.attempt,
      status: written.status,
      durationMs: elapsedMs,
    };
    if (written.status === 'pending' && result.outcome.kind === 'failed') {
      this.log.warn(
        { ...fields, error, retryAt: written.runAt },
        'task attempt failed; it will be retried',
      );
      this.wakeAt(written.runAt.getTime());
    } else if (result.outcome.kind === 'failed') this.log.warn({ ...fields, error }, 'task failed');
    else
      this.log.info(
        fields,
        result.outcome.kind === 'released' ? 'task handed back' : `task ${written.status}`,
      );
    this.options.onTaskFinished?.(task, result.outcome, written.status);
  }

  private async beat(): Promise<void> {
    const ids = [...this.held];
    try {
      const result = await heartbeat(
        this.options.database,
        {
          id: this.options.nodeId,
          concurrency: this.state === 'running' ? this.options.concurrency : 0,
        },
        ids,
        this.options.leaseMs,
      );
      for (const id of ids) {
        if (!result.held.has(id)) {
          if (this.executing.has(id)) this.cancelLocal(id, 'lease-lost');
        } else if (result.cancelRequested.has(id)) {
          this.cancelLocal(id, 'cancel');
        }
      }
    } catch (error) {
      this.log.warn({ err: error }, 'heartbeat failed; leases are renewed on the next one');
    }
  }

  private async recover(ignoreLeases: boolean): Promise<void> {
    try {
      const recovered = await recoverTasks(this.options.database, {
        nodeId: this.options.nodeId,
        maxLost: this.options.maxLost,
        ignoreLeases,
      });
      for (const task of recovered) {
        this.log.warn(
          { taskId: task.taskId, status: task.status },
          'recovered a task from a lost worker',
        );
      }
      if (recovered.length > 0) this.wake();
      await pruneDeadNodes(this.options.database, this.options.leaseMs * 10);
    } catch (error) {
      this.log.warn({ err: error }, 'could not look for tasks of lost workers');
    }
  }

  private wakeAt(at: number): void {
    if (this.state !== 'running' || (this.retryWake && this.retryWake.at <= at)) return;
    if (this.retryWake) clearTimeout(this.retryWake.timer);
    const timer = setTimeout(
      () => {
        this.retryWake = undefined;
        this.wake();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.retryWake = { at, timer };
  }

  /** Runs `fn` every `ms`, skipping a beat while the previous run is still going. */
  private every(ms: number, fn: () => unknown): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void Promise.resolve(fn()).finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
