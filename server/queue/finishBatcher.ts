// Writes attempt results in batches: whatever finished while the previous write was in flight
// goes out in the next single statement. When the database is unreachable the results wait and
// are written once it is back, so a task that finished during an outage is not run again.
import type { Logger } from 'pino';
import type { Queryable } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { finishTasks, releaseTasks, type FinishedRow, type RetryPolicy } from './finishTasks.js';
import type { TaskOutcome } from './types.js';

export interface AttemptResult {
  id: number;
  taskId: string;
  attempt: number;
  outcome: TaskOutcome;
}

/** What became of a result: the task's new status, or `fenced` if this node no longer held it. */
export type WriteResult = FinishedRow | { fenced: true };

interface Waiting {
  result: AttemptResult;
  resolve: (written: WriteResult) => void;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

export class FinishBatcher {
  private waiting: Waiting[] = [];
  private flushing: Promise<void> | undefined;
  private giveUpAt = Infinity;

  constructor(
    private readonly db: Queryable,
    private readonly nodeId: string,
    private readonly retry: RetryPolicy,
    private readonly logger: Logger,
  ) {}

  /** Resolves once the result is stored (or known to be fenced off). Never rejects. */
  add(result: AttemptResult): Promise<WriteResult> {
    return new Promise((resolve) => {
      this.waiting.push({ result, resolve });
      this.flushing ??= this.flushAll().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  /** Waits for every result to be written; after `timeoutMs` of database outage, gives up. */
  async drain(timeoutMs: number): Promise<void> {
    this.giveUpAt = Date.now() + timeoutMs;
    while (this.flushing) await this.flushing;
  }

  private async flushAll(): Promise<void> {
    // Results of tasks that ended in the same turn of the event loop go out together.
    await new Promise((resolve) => setImmediate(resolve));
    let delay = RETRY_MIN_MS;
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        const statuses = await this.write(batch.map((w) => w.result));
        for (const w of batch) {
          const row = statuses.get(w.result.id);
          w.resolve(row ?? { fenced: true });
        }
        delay = RETRY_MIN_MS;
      } catch (error) {
        const unavailable = isDatabaseUnavailable(error);
        if (!unavailable || Date.now() >= this.giveUpAt) {
          this.logger.error(
            { err: error, tasks: batch.map((w) => w.result.taskId) },
            'could not store task results; their leases will expire and the tasks will run again',
          );
          for (const w of batch) w.resolve({ fenced: true });
          continue;
        }
        this.logger.warn(
          { err: error, tasks: batch.length, retryInMs: delay },
          'database unavailable; task results wait until it is back',
        );
        this.waiting = [...batch, ...this.waiting];
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  private async write(results: AttemptResult[]): Promise<Map<number, FinishedRow>> {
    const released = results.filter((r) => r.outcome.kind === 'released').map((r) => r.id);
    const finished = results.flatMap((r) =>
      r.outcome.kind === 'released' ? [] : [{ id: r.id, attempt: r.attempt, outcome: r.outcome }],
    );
    const [finishedStatuses, releasedIds] = await Promise.all([
      finishTasks(this.db, this.nodeId, finished, this.retry),
      releaseTasks(this.db, this.nodeId, released),
    ]);
    const now = new Date();
    for (const id of releasedIds) finishedStatuses.set(id, { status: 'pending', runAt: now });
    return finishedStatuses;
  }
}
