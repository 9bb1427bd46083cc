// Each node's schedule ticker: sleeps until the earliest next_run_at of the active schedules,
// then takes the due ticks (see takeTick in schedules.ts: the database makes sure one node gets
// each). Changes reach it by notification (PostgreSQL) or a direct call, and every poll.
// A tick a little late (a busy node, a short hiccup: up to CATCH_UP_MS) is still enqueued, each
// one; ticks missed for longer (the whole cluster was down) are not replayed one by one: the
// schedule runs once, for the latest missed tick, and goes on from the next tick after now.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { CHANNELS } from './channels.js';
import { latestTick, nextTick } from './cronTimes.js';
import type { InsertedTask } from './insertTask.js';
import { readDueNames, readNextDue, takeTick, type ScheduleRow } from './schedules.js';
import type { NewTask } from './types.js';

const MAX_DELAY_MS = 2 ** 31 - 1;
/** How late a tick may be and still be enqueued for itself rather than folded into the latest. */
export const CATCH_UP_MS = 10_000;
/** Schedules taken per look; more due ones are taken on the next. */
const DUE_BATCH = 50;

export interface ScheduleTickerOptions {
  database: Database;
  pollIntervalMs: number;
  logger: Logger;
  /** Builds the task a schedule's row enqueues (its spec resolved against the golden paths). */
  buildTask: (row: ScheduleRow, tick: Date) => NewTask;
  /** Told of each task a tick enqueued. */
  onEnqueued: (inserted: InsertedTask, task: NewTask) => void;
}

export class ScheduleTicker {
  private timer: { at: number; handle: NodeJS.Timeout } | undefined;
  private poll: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: ScheduleTickerOptions) {}

  async start(): Promise<void> {
    const { database } = this.options;
    this.unlisten = await database.listen(
      CHANNELS.schedulesChanged,
      () => this.refresh(),
      () => this.refresh(),
    );
    this.poll = setInterval(() => this.refresh(), this.options.pollIntervalMs);
    this.poll.unref();
    this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer.handle);
    clearInterval(this.poll);
    await this.unlisten?.().catch(() => undefined);
    await this.running;
  }

  /** Takes what is due, then sleeps until the next due time. Calls coalesce. */
  refresh(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    });
  }

  private async run(): Promise<void> {
    const { database, logger } = this.options;
    let failed = false;
    try {
      for (;;) {
        const names = await readDueNames(database, DUE_BATCH);
        for (const name of names) failed = !(await this.tick(name)) || failed;
        if (names.length < DUE_BATCH || this.stopped || failed) break;
      }
      const next = await readNextDue(database);
      if (this.timer) clearTimeout(this.timer.handle);
      this.timer = undefined;
      // A schedule that could not be enqueued stays due: try it again at the poll, not at once.
      if (next !== undefined && !this.stopped) {
        this.arm(failed ? Math.max(next, Date.now() + this.options.pollIntervalMs) : next);
      }
    } catch (error) {
      logger.warn({ err: error }, 'could not look at the schedules; the poll tries again');
    }
  }

  /** False when the tick could not be taken (the error is logged). */
  private async tick(name: string): Promise<boolean> {
    const now = new Date();
    let taken;
    try {
      taken = await takeTick(this.options.database, name, (row) => {
        const rule = { cron: row.cron, timezone: row.timezone };
        const late = now.getTime() - row.next_run_at.getTime() > CATCH_UP_MS;
        const tick = late ? latestTick(rule, row.next_run_at, now) : row.next_run_at;
        // When catching up, the next tick may be due already: the next look takes it.
        return { task: this.options.buildTask(row, tick), next: nextTick(rule, tick), tick };
      });
    } catch (error) {
      this.options.logger.error({ err: error, schedule: name }, 'a schedule could not enqueue');
      return false;
    }
    if (!taken) return true;
    this.options.logger.info(
      { schedule: name, taskId: taken.inserted.taskId },
      'schedule enqueued a task',
    );
    this.options.onEnqueued(taken.inserted, taken.task);
    return true;
  }

  private arm(at: number): void {
    // One millisecond late: next_run_at <= now() must hold when the tick is taken.
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, at - Date.now() + 1));
    const handle = setTimeout(() => {
      this.timer = undefined;
      this.refresh();
    }, delay);
    handle.unref();
    this.timer = { at, handle };
  }
}
