// Retention: deletes finished tasks older than RETENTION_HOURS, in small batches (short
// transactions, no long locks), by one node at a time (advisory lock). The stats totals do not
// move: the counters keep the history of pruned tasks (see the stats_counters migration).
import { deleteInBatches } from '../db/deleteInBatches.js';
import type { Logger } from 'pino';
import { ADVISORY_LOCKS, type Database, type Queryable } from '../db/database.js';

// The conditions are repeated on the outer DELETE: a row that a manual retry made `pending`
// again after the subquery chose it is re-checked when the DELETE locks it, and kept.
const FINISHED_AND_OLD = `completed_at < now() - $1 * interval '1 millisecond'
    AND status IN ('completed', 'failed', 'cancelled')`;
const PRUNE = `
DELETE FROM queue_tasks WHERE id IN (
  SELECT id FROM queue_tasks
  WHERE ${FINISHED_AND_OLD}
  ORDER BY completed_at
  LIMIT $2
) AND ${FINISHED_AND_OLD}`;

export function pruneFinishedTasks(
  db: Queryable,
  options: { maxAgeMs: number; batchSize: number },
): Promise<number> {
  return deleteInBatches(db, PRUNE, options);
}

export interface RetentionOptions {
  /** Finished tasks older than this are deleted. */
  maxAgeMs: number;
  intervalMs: number;
  batchSize: number;
}

export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly database: Database,
    private readonly options: RetentionOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.runOnce());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass; resolves to the tasks deleted, or undefined when another node holds the lock. */
  async runOnce(): Promise<number | undefined> {
    try {
      const deleted = await this.database.tryAdvisoryLock(ADVISORY_LOCKS.retention, (db) =>
        pruneFinishedTasks(db, this.options),
      );
      if (deleted) this.logger.info({ deleted }, 'retention: deleted old finished tasks');
      return deleted;
    } catch (error) {
      this.logger.warn({ err: error }, 'retention: could not delete old tasks');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
