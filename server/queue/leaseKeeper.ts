// The lease's home: a node's heartbeat (its queue_nodes row and the leases of its runs), the
// self-fence that stops a run the node can no longer prove it holds (see leaseFence.ts), and the
// rescue of expired leases, any node's, this one's included. The worker tells it which runs it
// holds; it tells the worker which to stop, when claiming must pause, and when it may go on.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { StopReason } from '../workflow/runWorkflow.js';
import { fenceCheckMs, fenceDeadline, heartbeatTimeoutMs, type LeaseTiming } from './leaseFence.js';
import { heartbeat, pruneDeadNodes } from './nodes.js';
import { recoverTasks, type RecoveredTask } from './recoverTasks.js';
import { repeatEvery } from './repeat.js';

/** A run as the lease keeper sees it. */
export interface LeasedRun {
  /** `runKey(task id, attempt)`. */
  key: string;
  task: { id: number; taskId: string; attempt: number };
  /** When the last claim or heartbeat that renewed this lease was sent (performance.now). */
  leaseFrom: number;
  /** Its workflow still runs; false once only its result is pending. */
  executing: boolean;
}

export interface LeaseKeeperOptions {
  database: Database;
  nodeId: string;
  timing: LeaseTiming;
  /** How often expired leases are looked for. */
  recoveryIntervalMs: number;
  /** Times a task may be lost with its node before it fails. */
  maxLost: number;
  logger: Logger;
  /** The runs this node holds now. */
  runs: () => Iterable<LeasedRun>;
  /** The concurrency this node reports in its heartbeat (0 while it drains). */
  reportedConcurrency: () => number;
  /** Stops a run (cancel requested, or its lease is gone). */
  stopRun: (run: LeasedRun, reason: StopReason) => void;
  /** The database answers again after the node fenced itself: it may claim again. */
  onRejoin: () => void;
  /** An expired lease was given back or ended. */
  onRecovered: (task: RecoveredTask) => void;
}

export class LeaseKeeper {
  /** Send time of the last heartbeat (or registration) the database answered. */
  private lastBeatOk = 0;
  private fenced = false;
  private active = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** False while the node is cut off for longer than the fence allows. */
  get mayClaim(): boolean {
    return !this.fenced;
  }

  /** The last moment a run whose lease was renewed by a statement sent at `sentAt` may run. */
  deadline(sentAt: number): number {
    return fenceDeadline(sentAt, this.options.timing);
  }

  /** A statement sent at `sentAt` renewed the node (its registration). */
  renewed(sentAt: number): void {
    this.lastBeatOk = Math.max(this.lastBeatOk, sentAt);
  }

  start(): void {
    this.active = true;
    // Two heartbeats may be in flight: one stuck on a dead connection does not delay the next.
    this.timers.push(
      repeatEvery(this.options.timing.heartbeatMs, () => this.beat(), 2),
      repeatEvery(fenceCheckMs(this.options.timing), () => this.checkFence()),
      repeatEvery(this.options.recoveryIntervalMs, () => this.rescue(false)),
    );
  }

  /** Stops fencing (a draining node stops its own runs) but keeps renewing until `stop()`. */
  drain(): void {
    this.active = false;
  }

  stop(): void {
    this.active = false;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  private async beat(): Promise<void> {
    const runs = [...this.options.runs()];
    const sent = performance.now();
    try {
      const result = await heartbeat(
        this.options.database,
        { id: this.options.nodeId, concurrency: this.options.reportedConcurrency() },
        runs.map((r) => ({ id: r.task.id, attempt: r.task.attempt })),
        {
          leaseMs: this.options.timing.leaseMs,
          timeoutMs: heartbeatTimeoutMs(this.options.timing),
        },
      );
      this.renewed(sent);
      for (const run of runs) {
        if (!result.held.has(run.key)) this.options.stopRun(run, 'lease-lost');
        else {
          run.leaseFrom = Math.max(run.leaseFrom, sent);
          if (result.cancelRequested.has(run.key)) this.options.stopRun(run, 'cancel');
        }
      }
      if (this.fenced && performance.now() < this.deadline(this.lastBeatOk)) {
        this.fenced = false;
        this.options.logger.warn('the database answers again: this node claims tasks again');
        this.options.onRejoin();
      }
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        'heartbeat failed; leases are renewed on the next one',
      );
    }
    this.checkFence();
  }

  /** Stops every run whose lease this node can no longer prove, and claiming if it is cut off. */
  checkFence(): void {
    const now = performance.now();
    if (!this.fenced && this.active && now >= this.deadline(this.lastBeatOk)) {
      this.fenced = true;
      this.options.logger.error(
        {
          running: [...this.options.runs()].filter((r) => r.executing).length,
          sinceLastHeartbeatMs: Math.round(now - this.lastBeatOk),
          leaseMs: this.options.timing.leaseMs,
        },
        "no heartbeat answered within the lease: stopping this node's runs before other nodes take them over, and claiming nothing until the database answers",
      );
    }
    for (const run of this.options.runs()) {
      if (run.executing && now >= this.deadline(run.leaseFrom)) {
        this.options.stopRun(run, 'lease-lost');
      }
    }
  }

  /**
   * Gives back the tasks whose leases expired (all running ones with `ignoreLeases`, right when
   * one process owns the database), then forgets nodes long dead.
   */
  async rescue(ignoreLeases: boolean, rethrow = false): Promise<void> {
    // After a stall, this node's own expired runs stop before their tasks are given back.
    this.checkFence();
    try {
      const recovered = await recoverTasks(this.options.database, {
        maxLost: this.options.maxLost,
        ignoreLeases,
      });
      for (const task of recovered) {
        this.options.logger.warn(
          { taskId: task.taskId, attempt: task.attempt, status: task.status },
          'recovered a task from a lost worker',
        );
        this.options.onRecovered(task);
      }
      await pruneDeadNodes(this.options.database, this.options.timing.leaseMs * 10);
    } catch (error) {
      if (rethrow) throw error;
      this.options.logger.warn({ err: error }, 'could not look for tasks whose lease expired');
    }
  }
}
