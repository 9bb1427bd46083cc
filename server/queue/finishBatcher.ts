// Writes attempt results in batches: whatever finished while the previous write was in flight
// goes out in the next single statement. When the database is unreachable the results wait and
// are written once it is back, so a task that finished during an outage is not run again. Any
// other failure of a batch is retried row by row, so one bad result never costs another its
// record; a row that still fails is recorded as a failed attempt naming why. Step rows carried
// with the results are then written apart first, with their own fallbacks: a step's output the
// database refuses never costs its task the result. A claim about to be
// sent may carry the finished results waiting here in its own statement (`take`), and gives them
// back when that statement fails. Under load the batcher writes at most once per
// `writeIntervalMs` (RESULT_BATCH_MS by default): on a node whose tasks end every few
// milliseconds (one-step bash tasks), each result had a statement nearly to itself, and a
// statement costs the node and PostgreSQL more than the task's other work. The first result after
// a quiet spell is written at once, and so is everything while the node drains.
import type { Logger } from 'pino';
import type { Queryable } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import {
  finishTasks,
  releaseTasks,
  runKey,
  type FinishedAttempt,
  type FinishedRow,
  type RetryPolicy,
} from './finishTasks.js';
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

/** Results taken out to be written by another statement: `settle` or `giveBack` them. */
export interface TakenResults {
  readonly attempts: FinishedAttempt[];
  readonly entries: readonly Waiting[];
}

/** Results go out at most once per this many milliseconds under load. */
export const RESULT_BATCH_MS = 20;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

export class FinishBatcher {
  private waiting: Waiting[] = [];
  private flushing: Promise<void> | undefined;
  private giveUpAt = Infinity;
  /** When the last write of results was sent (performance.now). */
  private lastWriteAt = -Infinity;
  private readonly writeIntervalMs: number;
  /** Ends the wait for the interval (a drain writes at once). */
  private cutWait: (() => void) | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly nodeId: string,
    private readonly retry: RetryPolicy,
    private readonly logger: Logger,
    options: { writeIntervalMs?: number | undefined } = {},
  ) {
    this.writeIntervalMs = options.writeIntervalMs ?? RESULT_BATCH_MS;
  }

  /** Resolves once the result is stored (or known to be fenced off). Never rejects. */
  add(result: AttemptResult): Promise<WriteResult> {
    return new Promise((resolve) => {
      this.waiting.push({ result, resolve });
      this.flushSoon();
    });
  }

  /**
   * The finished attempts (not hand-backs) waiting for the next write, taken out of the queue;
   * undefined when there are none.
   */
  take(): TakenResults | undefined {
    const entries = this.waiting.filter((w) => w.result.outcome.kind !== 'released');
    if (entries.length === 0) return undefined;
    this.waiting = this.waiting.filter((w) => w.result.outcome.kind === 'released');
    return { attempts: finishedAttempts(entries.map((w) => w.result)), entries };
  }

  /** Taken results were written: each gets its row, or `fenced` when the statement skipped it. */
  settle(taken: TakenResults, rows: Map<string, FinishedRow>): void {
    for (const w of taken.entries) {
      w.resolve(rows.get(runKey(w.result.id, w.result.attempt)) ?? { fenced: true });
    }
  }

  /** Taken results were not written: they are written as any other, in the next batch. */
  giveBack(taken: TakenResults): void {
    this.waiting = [...taken.entries, ...this.waiting];
    this.flushSoon();
  }

  private flushSoon(): void {
    this.flushing ??= this.flushAll().finally(() => {
      this.flushing = undefined;
      // Added after the last batch went out, while this flush was ending (a caller resumed by
      // that batch's answer, say): theirs is the next.
      if (this.waiting.length > 0) this.flushSoon();
    });
  }

  /** Waits for every result to be written; after `timeoutMs` of database outage, gives up. */
  async drain(timeoutMs: number): Promise<void> {
    this.giveUpAt = Date.now() + timeoutMs;
    this.cutWait?.();
    while (this.flushing) await this.flushing;
  }

  private async flushAll(): Promise<void> {
    let delay = RETRY_MIN_MS;
    while (this.waiting.length > 0) {
      await this.nextWriteTime();
      // A claim may have taken them meanwhile.
      if (this.waiting.length === 0) break;
      this.lastWriteAt = performance.now();
      const batch = this.waiting;
      this.waiting = [];
      try {
        const statuses = await this.writeEach(batch.map((w) => w.result));
        for (const w of batch) {
          w.resolve(statuses.get(runKey(w.result.id, w.result.attempt)) ?? { fenced: true });
        }
        delay = RETRY_MIN_MS;
      } catch (error) {
        if (Date.now() >= this.giveUpAt) {
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

  /**
   * Waits until the interval since the last write is over (not while draining); at least until
   * the end of this turn of the event loop, so that results of tasks that ended in the same turn
   * go out together.
   */
  private nextWriteTime(): Promise<void> {
    const wait = this.lastWriteAt + this.writeIntervalMs - performance.now();
    return new Promise((resolve) => {
      if (wait <= 0 || this.giveUpAt !== Infinity) {
        setImmediate(resolve);
        return;
      }
      const timer = setTimeout(() => {
        this.cutWait = undefined;
        resolve();
      }, wait);
      this.cutWait = () => {
        this.cutWait = undefined;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * The batch in one go; if that fails for any reason but an unavailable database, row by row.
   * Throws only when the database is unavailable.
   */
  private async writeEach(batch: AttemptResult[]): Promise<Map<string, FinishedRow>> {
    try {
      return await this.write(batch);
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      if (batch.length === 1 && !carriesStepRow(batch[0]!))
        return this.writeAsFailed(batch[0]!, error);
      this.logger.warn(
        { err: error, tasks: batch.length },
        'could not store a batch of task results; storing them one by one',
      );
    }
    const results = await writeStepRowsApart(batch);
    const statuses = new Map<string, FinishedRow>();
    for (const result of results) {
      let written: Map<string, FinishedRow>;
      try {
        written = await this.write([result]);
      } catch (error) {
        if (isDatabaseUnavailable(error)) throw error;
        written = await this.writeAsFailed(result, error);
      }
      for (const [key, row] of written) statuses.set(key, row);
    }
    return statuses;
  }

  /** A result the database refused is recorded as a failed attempt that says so. */
  private async writeAsFailed(
    result: AttemptResult,
    cause: unknown,
  ): Promise<Map<string, FinishedRow>> {
    const reason = cause instanceof Error ? cause.message : String(cause);
    this.logger.error(
      { err: cause, taskId: result.taskId, attempt: result.attempt },
      'the database refused the result of a task; recording the attempt as failed',
    );
    const failed: AttemptResult = {
      ...result,
      outcome: {
        kind: 'failed',
        error: `could not record the result of attempt ${result.attempt} (${result.outcome.kind}): ${reason}`,
      },
    };
    try {
      return await this.write([failed]);
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      this.logger.error(
        { err: error, taskId: result.taskId },
        'could not record a task as failed either; its lease will expire and it will be recovered',
      );
      return new Map();
    }
  }

  private async write(results: AttemptResult[]): Promise<Map<string, FinishedRow>> {
    const released = results
      .filter((r) => r.outcome.kind === 'released')
      .map((r) => ({ id: r.id, attempt: r.attempt }));
    const [finishedStatuses, releasedStatuses] = await Promise.all([
      finishTasks(this.db, this.nodeId, finishedAttempts(results), this.retry),
      releaseTasks(this.db, this.nodeId, released),
    ]);
    for (const [key, row] of releasedStatuses) finishedStatuses.set(key, row);
    return finishedStatuses;
  }
}

function carriesStepRow(result: AttemptResult): boolean {
  return result.outcome.kind !== 'released' && result.outcome.stepRow !== undefined;
}

/** Writes the carried step rows on their own; the results without them. */
async function writeStepRowsApart(results: AttemptResult[]): Promise<AttemptResult[]> {
  const apart: AttemptResult[] = [];
  for (const result of results) {
    const { outcome } = result;
    if (outcome.kind === 'released' || !outcome.stepRow) {
      apart.push(result);
      continue;
    }
    await outcome.stepRow.writeApart();
    apart.push({ ...result, outcome: { ...outcome, stepRow: undefined } });
  }
  return apart;
}

function finishedAttempts(results: readonly AttemptResult[]): FinishedAttempt[] {
  return results.flatMap((r) =>
    r.outcome.kind === 'released' ? [] : [{ id: r.id, attempt: r.attempt, outcome: r.outcome }],
  );
}
