// The worker side of a node: claims tasks from queue_tasks (for its free slots and, while tasks
// finish quickly, a few ahead of them) and runs them in a p-queue of QUEUE_CONCURRENCY, keeps
// their leases alive and stops its own runs the moment it can no longer prove it holds them (see
// leaseFence.ts), writes their results (fenced, in batches), gives back the tasks whose leases
// expired, and drains on shutdown. A run is one attempt of one task, keyed
// (task, attempt) everywhere. See types.ts for the glossary.
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { StopReason } from '../workflow/runWorkflow.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { CHANNELS } from './channels.js';
import { claimAndFinish, claimTasks } from './claimTasks.js';
import { FinishBatcher, type AttemptResult } from './finishBatcher.js';
import { runKey, type RetryPolicy } from './finishTasks.js';
import { claimTimeoutMs, type LeaseTiming } from './leaseFence.js';
import { LeaseKeeper } from './leaseKeeper.js';
import { markNodeDraining, registerNode, removeNode } from './nodes.js';
import { repeatEvery } from './repeat.js';
import type { RecoveredTask } from './recoverTasks.js';
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
  /** Tasks claimed ahead of free slots at most, while tasks finish quickly; 0 for none. */
  prefetch: number;
  /** Longest a task claimed ahead waits for a slot. @default AHEAD_HOLD_MS */
  aheadHoldMs?: number;
  /** Results are written at most once per this many ms under load. @default RESULT_BATCH_MS */
  resultBatchMs?: number;
  retry: RetryPolicy;
  logger: Logger;
  run: (task: ClaimedTask, signal: AbortSignal) => Promise<TaskOutcome>;
  /** Told of every task this node starts and of every result it stores. */
  onTaskStarted?: (task: ClaimedTask) => void;
  onTaskFinished?: (task: ClaimedTask, outcome: TaskOutcome, status: TaskStatus) => void;
  /**
   * Told of every task this node claimed and gave back before starting it: to watchers it never
   * left the queue, but another node may take it now.
   */
  onTaskReturned?: (task: ClaimedTask) => void;
  /** Told of every task whose expired lease this node gave back (or ended). */
  onTaskRecovered?: (task: RecoveredTask) => void;
  /** Told when a claim came back full: more tasks are waiting (a backlog). */
  onBacklog?: () => void;
}

/** One attempt of one task on this node, from its claim until its result is stored. */
interface Run {
  key: string;
  task: ClaimedTask;
  controller: AbortController;
  /** When the last claim or heartbeat that renewed this run's lease was sent (performance.now). */
  leaseFrom: number;
  /** The workflow still runs (it occupies a slot); false once only its result is pending. */
  executing: boolean;
  /** Claimed ahead of a free slot, waiting for one since then (performance.now). */
  waitingSince: number | undefined;
  /** Its workflow was started (it may have been handed back unstarted). */
  started: boolean;
}

/**
 * Longest a task claimed ahead waits for a slot before it is handed back. It is `running` in the
 * table meanwhile, so the wait is kept well below anything a watcher would call a stall.
 */
export const AHEAD_HOLD_MS = 250;

type State = 'new' | 'running' | 'draining' | 'stopped';

export class QueueWorker {
  private state: State = 'new';
  private readonly pq: PQueue;
  /**
   * Runs this node holds a lease on: executing, or finished with the result not yet stored. The
   * lease registry, not a gate: the p-queue alone decides how many run at once.
   */
  private readonly runs = new Map<string, Run>();
  /** Runs claimed ahead of free slots, oldest first: each starts when a slot frees. */
  private readonly ahead: Run[] = [];
  private aheadTimer: NodeJS.Timeout | undefined;
  /** How long workflows ran here lately (ms, moving average); undefined before the first. */
  private runMs: number | undefined;
  private readonly finisher: FinishBatcher;
  private readonly timing: LeaseTiming;
  private readonly leases: LeaseKeeper;
  private claiming: Promise<void> | undefined;
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
    this.finisher = new FinishBatcher(options.database, options.nodeId, options.retry, this.log, {
      writeIntervalMs: options.resultBatchMs,
    });
    this.timing = { leaseMs: options.leaseMs, heartbeatMs: options.heartbeatMs };
    this.leases = new LeaseKeeper({
      database: options.database,
      nodeId: options.nodeId,
      timing: this.timing,
      recoveryIntervalMs: options.recoveryIntervalMs,
      maxLost: options.maxLost,
      logger: this.log,
      runs: () => this.runs.values(),
      reportedConcurrency: () => (this.state === 'running' ? options.concurrency : 0),
      stopRun: (run, reason) => this.stopRun(run as Run, reason),
      onRejoin: () => this.wake(),
      onRecovered: (task) => {
        this.options.onTaskRecovered?.(task);
        if (task.status === 'pending') this.wake();
      },
    });
  }

  /**
   * Tasks whose workflow runs now: the p-queue's jobs, but for the last moments of one whose
   * workflow ended (its slot is free: the next job waits in the p-queue only for that moment).
   */
  private executingCount = 0;

  get concurrency(): number {
    return this.options.concurrency;
  }

  /** Row ids of the tasks executing on this node. */
  get executingTaskIds(): number[] {
    return [...this.runs.values()].filter((r) => r.executing).map((r) => r.task.id);
  }

  async start(): Promise<void> {
    const { database, nodeId, concurrency } = this.options;
    const sent = performance.now();
    try {
      await registerNode(database, { id: nodeId, concurrency });
      this.leases.renewed(sent);
      if (database.kind === 'pglite') {
        // One process owns the embedded database: any task still `running` was left by a
        // server that died, and can be given back at once instead of after its lease.
        await this.leases.rescue(true, true);
      }
      if (concurrency > 0) {
        this.unlisten.push(
          await database.listen(
            CHANNELS.newTask,
            () => this.wake(),
            () => this.wake(),
          ),
        );
      }
      this.unlisten.push(
        await database.listen(CHANNELS.cancelTask, (payload) =>
          this.cancelLocal(Number(payload), 'cancel'),
        ),
      );
    } catch (error) {
      // Start-up is retried as a whole: leave nothing listening behind.
      await Promise.all(this.unlisten.splice(0).map((u) => u().catch(() => undefined)));
      throw error;
    }
    this.state = 'running';
    if (concurrency > 0)
      this.timers.push(repeatEvery(this.options.pollIntervalMs, () => this.wake()));
    this.leases.start();
    this.wake();
  }

  /**
   * How many tasks to hold claimed ahead of free slots: as many as the slots would start within a
   * quarter of the hold at the pace tasks ran here lately; none before a task has finished.
   */
  private get aheadTarget(): number {
    const { prefetch, concurrency } = this.options;
    if (prefetch === 0 || this.runMs === undefined) return 0;
    const startable = (concurrency * this.aheadHoldMs) / (4 * Math.max(this.runMs, 0.001));
    return Math.min(prefetch, Math.floor(startable));
  }

  private get aheadHoldMs(): number {
    return this.options.aheadHoldMs ?? AHEAD_HOLD_MS;
  }

  /** Claims tasks for the free slots (and ahead). Cheap to call often: calls coalesce. */
  wake(): void {
    if (!this.mayClaim()) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = this.claimLoop().finally(() => (this.claiming = undefined));
  }

  private mayClaim(): boolean {
    return this.state === 'running' && this.leases.mayClaim && this.options.concurrency > 0;
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
    let stopped = false;
    for (const run of this.runs.values()) {
      if (run.task.id === taskRowId && this.stopRun(run, reason)) stopped = true;
    }
    return stopped;
  }

  private stopRun(run: Run, reason: StopReason): boolean {
    if (run.waitingSince !== undefined) {
      // Not started: it ends (cancel) or goes back (shutdown; a lost lease's write is fenced).
      this.ahead.splice(this.ahead.indexOf(run), 1);
      run.waitingSince = undefined;
      this.log.info(
        { taskId: run.task.taskId, attempt: run.task.attempt, reason },
        'stopping task',
      );
      this.storeInBackground(
        run,
        reason === 'cancel'
          ? { kind: 'cancelled', error: 'cancelled before it started' }
          : { kind: 'released' },
      );
      return true;
    }
    if (!run.executing || run.controller.signal.aborted) return false;
    const fields = { taskId: run.task.taskId, attempt: run.task.attempt, reason };
    if (reason === 'lease-lost') this.log.error(fields, 'lease lost: killing the run');
    else this.log.info(fields, 'stopping task');
    run.controller.abort(reason);
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
    this.leases.drain();
    const { database, nodeId } = this.options;
    const deadline = Date.now() + timeoutMs;
    if (wasRunning) {
      await markNodeDraining(database, nodeId).catch((error: unknown) =>
        this.log.warn({ err: error }, 'could not mark this node as draining'),
      );
    }
    // A claim in flight is handed back as soon as it lands (the state is no longer running).
    await this.within(this.claiming, deadline);
    for (const run of [...this.ahead]) this.stopRun(run, 'shutdown');
    if (this.executingCount > 0) {
      this.log.info(
        { running: this.executingCount, timeoutMs },
        'draining: waiting for running tasks',
      );
      await this.within(this.pq.onIdle(), deadline);
    }
    if (this.executingCount > 0) {
      this.log.warn(
        { tasks: this.executingCount },
        'draining: handing unfinished tasks back to the queue',
      );
      for (const run of this.runs.values()) this.stopRun(run, 'shutdown');
    }
    await this.pq.onIdle();
    await this.finisher.drain(Math.max(timeoutMs, 5_000));
    await Promise.all(this.storing);
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.aheadTimer);
    this.leases.stop();
    if (this.retryWake) clearTimeout(this.retryWake.timer);
    await Promise.all(this.unlisten.map((u) => u().catch(() => undefined)));
    if (wasRunning) {
      await removeNode(database, nodeId).catch((error: unknown) =>
        this.log.warn({ err: error }, 'could not remove this node from queue_nodes'),
      );
    }
    this.state = 'stopped';
  }

  private async within(promise: Promise<unknown> | undefined, deadline: number): Promise<void> {
    if (!promise) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      promise,
      new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
  }

  private async claimLoop(): Promise<void> {
    let carry = true;
    for (;;) {
      this.claimAgain = false;
      const free = this.options.concurrency - this.executingCount;
      // Ahead only with a claim for free slots: a node whose slots are all busy waits for them.
      const wanted = free > 0 ? free + this.aheadTarget - this.ahead.length : 0;
      if (wanted > 0 && this.mayClaim()) {
        const options = {
          nodeId: this.options.nodeId,
          limit: wanted,
          leaseMs: this.options.leaseMs,
          appLimit: this.options.appLimit,
          timeoutMs: claimTimeoutMs(this.timing),
        };
        // The results of the tasks whose end freed these slots go in the claim's statement.
        const results = carry && options.appLimit === 0 ? this.finisher.take() : undefined;
        const sent = performance.now();
        try {
          let tasks: ClaimedTask[];
          if (results) {
            const written = await claimAndFinish(this.options.database, options, {
              attempts: results.attempts,
              retry: this.options.retry,
            });
            this.finisher.settle(results, written.finished);
            tasks = written.tasks;
          } else {
            tasks = await claimTasks(this.options.database, options);
          }
          // Draining, or the answer came too late to prove the lease: give them straight back.
          const now = performance.now();
          const late = this.state !== 'running' || now >= this.deadline(sent);
          for (const task of tasks) {
            const run = this.track(task, sent);
            if (late) this.handBack(run, 'handing back a task claimed too late');
            else {
              run.waitingSince = now;
              this.ahead.push(run);
            }
          }
          this.startAhead();
          // A full batch means more may be waiting.
          if (tasks.length === wanted && !late) {
            this.claimAgain = true;
            this.options.onBacklog?.();
          }
        } catch (error) {
          if (results) {
            // Nothing of that statement was written (or, after a timeout, perhaps all of it: a
            // result written twice finds its row no longer running, and is reported fenced).
            this.finisher.giveBack(results);
            if (!isDatabaseUnavailable(error)) {
              // A result the database refuses is the finisher's to isolate; claim on without.
              carry = false;
              this.claimAgain = true;
              continue;
            }
          }
          // The poll tries again; no tight loop against a database that is down.
          this.log.warn({ err: error }, 'could not claim tasks');
          this.claimAgain = false;
        }
      }
      if (!this.claimAgain) return;
    }
  }

  private deadline(sentAt: number): number {
    return this.leases.deadline(sentAt);
  }

  private track(task: ClaimedTask, sentAt: number): Run {
    const run: Run = {
      key: runKey(task.id, task.attempt),
      task,
      controller: new AbortController(),
      leaseFrom: sentAt,
      executing: false,
      waitingSince: undefined,
      started: false,
    };
    this.runs.set(run.key, run);
    return run;
  }

  private handBack(run: Run, why: string): void {
    this.log.info({ taskId: run.task.taskId, attempt: run.task.attempt }, why);
    this.storeInBackground(run, { kind: 'released' });
  }

  /**
   * Starts the runs claimed ahead while slots are free, oldest first; one that can no longer
   * prove its lease, or finds the node draining, goes back instead. Keeps the hold's timer.
   */
  private startAhead(): void {
    while (this.ahead.length > 0 && this.executingCount < this.options.concurrency) {
      const run = this.takeAhead();
      if (this.state !== 'running' || performance.now() >= this.deadline(run.leaseFrom)) {
        this.handBack(run, 'handing back a task its lease no longer covers');
      } else this.execute(run);
    }
    if (this.ahead.length === 0) {
      clearTimeout(this.aheadTimer);
      this.aheadTimer = undefined;
    } else this.aheadTimer ??= setTimeout(() => this.expireAhead(), this.aheadHoldMs);
  }

  /**
   * Hands back the runs that waited the whole hold for a slot, and claims none ahead until tasks
   * prove quick again: the pace that made them worth claiming was wrong.
   */
  private expireAhead(): void {
    this.aheadTimer = undefined;
    const hold = this.aheadHoldMs;
    const now = performance.now();
    while (this.ahead.length > 0 && now - this.ahead[0]!.waitingSince! >= hold) {
      const run = this.takeAhead();
      this.runMs = Math.max(this.runMs ?? 0, hold * this.options.concurrency);
      this.handBack(run, 'handing back a task no slot took in time');
    }
    if (this.ahead.length > 0) {
      const wait = hold - (now - this.ahead[0]!.waitingSince!);
      this.aheadTimer = setTimeout(() => this.expireAhead(), wait);
    }
  }

  /** The oldest run claimed ahead, out of the line. */
  private takeAhead(): Run {
    const run = this.ahead.shift()!;
    run.waitingSince = undefined;
    return run;
  }

  private execute(run: Run): void {
    const { task } = run;
    run.executing = true;
    run.started = true;
    this.executingCount++;
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
      const began = performance.now();
      let outcome: TaskOutcome;
      try {
        outcome = await this.options.run(task, run.controller.signal);
      } catch (error) {
        this.log.error({ err: error, taskId: task.taskId }, 'task runner failed');
        outcome = { kind: 'failed', error: `internal error: ${(error as Error).message}` };
      }
      run.executing = false;
      this.executingCount--;
      // The pace estimate follows a slower run quickly and a quicker one slowly.
      const ranMs = performance.now() - began;
      this.runMs ??= ranMs;
      this.runMs += (ranMs - this.runMs) * (ranMs > this.runMs ? 0.5 : 0.1);
      // The slot is free before the result is stored: a task claimed ahead takes it at once; the
      // write happens outside the p-queue job, with the next claim (the wake-up is queued before
      // the finisher's own write, so it takes the result first) or else in a batch with the
      // results of other tasks.
      this.startAhead();
      this.wakeSoon();
      this.storeInBackground(run, outcome);
    });
  }

  private storeInBackground(run: Run, outcome: TaskOutcome): void {
    const storing = this.store(run, outcome)
      .catch((error: unknown) =>
        this.log.error(
          { err: error, taskId: run.task.taskId },
          'could not record the end of a task',
        ),
      )
      .finally(() => {
        if (this.runs.get(run.key) === run) this.runs.delete(run.key);
        this.storing.delete(storing);
      });
    this.storing.add(storing);
  }

  private async store(run: Run, outcome: TaskOutcome): Promise<void> {
    const { task } = run;
    const result: AttemptResult = {
      id: task.id,
      taskId: task.taskId,
      attempt: task.attempt,
      outcome,
    };
    const written = await this.finisher.add(result);
    const elapsedMs = Date.now() - task.startedAt.getTime();
    if ('fenced' in written) {
      this.log.warn(
        { taskId: task.taskId, attempt: task.attempt, outcome: outcome.kind },
        'dropped the result of a task this node no longer holds (its lease was lost)',
      );
      return;
    }
    if (!run.started && outcome.kind === 'released' && written.status === 'pending') {
      this.options.onTaskReturned?.(task);
      return;
    }
    const error = 'error' in outcome ? outcome.error : undefined;
    const fields = {
      taskId: task.taskId,
      app: task.appName,
      attempt: task.attempt,
      status: written.status,
      durationMs: elapsedMs,
    };
    if (written.status === 'pending' && outcome.kind === 'failed') {
      this.log.warn(
        { ...fields, error, retryAt: written.runAt },
        'task attempt failed; it will be retried',
      );
      this.wakeAt(written.runAt.getTime());
    } else if (written.status === 'failed') this.log.warn({ ...fields, error }, 'task failed');
    else
      this.log.info(
        fields,
        outcome.kind === 'released' && written.status === 'pending'
          ? 'task handed back'
          : `task ${written.status}`,
      );
    this.options.onTaskFinished?.(task, outcome, written.status);
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
}
