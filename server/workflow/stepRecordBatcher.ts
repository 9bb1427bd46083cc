// Writes step rows for all of a node's tasks in shared statements. A start waits `startDelayMs`
// for its end, so a short step's start and end go out as one row, and starts that come due
// together share one insert; an end goes out at the next turn of the event loop, with the other
// ends and due starts waiting. One statement is in flight at a time, so a step's end is
// always written after its start. Best effort, as before batching: a write the database refuses
// is retried step by step, an end that is still refused is stored without its output, and an
// unreachable database leaves the row as it was (the task's own result is what the queue keeps).
// A step that ends its task's workflow before its start row was sent is handed over whole
// (`handOver`), for the statement that stores the task's result to carry.
import type { Logger } from 'pino';
import type { Queryable } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import {
  writeStepRecords,
  type CarriedStepRow,
  type StepEnd,
  type StepRecord,
  type StepStart,
} from './stepRecords.js';

/** A started step: its end is recorded through this. */
export interface StartedStep {
  /** Resolves once the end is written, or known not to be (logged). Never rejects. */
  end(end: StepEnd): Promise<void>;
  /**
   * The step's whole row with this end, taken out of the batcher for another statement to write;
   * undefined once its start row has been sent (then `end` writes the end, after the start).
   */
  handOver(end: StepEnd): CarriedStepRow | undefined;
}

interface Entry {
  step: StepStart;
  startedAt: number;
  end?: { value: StepEnd; at: number; written: () => void } | undefined;
}

export class StepRecordBatcher {
  private readonly pending = new Set<Entry>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private draining = false;

  constructor(
    private readonly db: Queryable,
    private readonly logger: Logger,
    /** How long a start row may wait for its end or for other rows. @default 100 */
    private readonly startDelayMs = 100,
  ) {}

  start(step: StepStart): StartedStep {
    const entry: Entry = { step, startedAt: performance.now() };
    this.pending.add(entry);
    this.schedule();
    return {
      end: (end) =>
        new Promise<void>((resolve) => {
          // Still waiting here: the start's row is sent whole, with its end.
          entry.end = { value: end, at: performance.now(), written: resolve };
          this.pending.add(entry);
          this.schedule();
        }),
      handOver: (end) => {
        // Still pending means its start was not sent: a sent start leaves `pending` until `end`.
        if (!this.pending.delete(entry)) return undefined;
        entry.end = { value: end, at: performance.now(), written: () => undefined };
        return {
          record: () => record(entry, performance.now()),
          writeApart: () => this.writeEach([entry]),
        };
      },
    };
  }

  /** Sends everything that waits, starts too; resolves when it is written (a stopping node). */
  async drain(): Promise<void> {
    this.draining = true;
    try {
      this.schedule();
      while (this.flushing) await this.flushing;
    } finally {
      this.draining = false;
    }
  }

  /** Due: ends, and starts that waited their delay. */
  private due(entry: Entry, now: number): boolean {
    return this.draining || entry.end !== undefined || now - entry.startedAt >= this.startDelayMs;
  }

  /** A flush now if anything is due, else a timer for the oldest start. */
  private schedule(): void {
    // The loop in flight looks again when its statement is done.
    if (this.flushing || this.pending.size === 0) return;
    const now = performance.now();
    let wait = Infinity;
    for (const entry of this.pending) {
      wait = Math.min(wait, this.due(entry, now) ? 0 : entry.startedAt + this.startDelayMs - now);
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    if (wait <= 0) this.flushing = this.flushAll();
    else
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
  }

  private async flushAll(): Promise<void> {
    // Ends of the same turn of the event loop go out together.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      for (;;) {
        const now = performance.now();
        // Starts that have not waited their delay stay: their ends may still join them.
        const batch = [...this.pending].filter((entry) => this.due(entry, now));
        if (batch.length === 0) break;
        for (const entry of batch) this.pending.delete(entry);
        await this.writeEach(batch);
      }
    } finally {
      this.flushing = undefined;
      this.schedule();
    }
  }

  /** The batch in one statement; if the database refuses it, step by step. */
  private async writeEach(entries: Entry[]): Promise<void> {
    // As sent: an end that arrives while its start is in flight waits for the next statement.
    const batch = entries.map((entry) => ({ ...entry }));
    const now = performance.now();
    try {
      await writeStepRecords(
        this.db,
        batch.map((entry) => record(entry, now)),
      );
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        await Promise.all(batch.map((entry) => this.giveUp(entry, error)));
        return;
      }
      for (const entry of batch) {
        await writeStepRecords(this.db, [record(entry, performance.now())]).then(
          () => entry.end?.written(),
          (cause: unknown) => this.giveUp(entry, cause),
        );
      }
      return;
    }
    for (const entry of batch) entry.end?.written();
  }

  /** A row the database refused: an end is stored without its output, saying why. */
  private async giveUp(entry: Entry, cause: unknown): Promise<void> {
    const log = this.logger.child({ taskRowId: entry.step.taskRowId, step: entry.step.name });
    const end = entry.end;
    if (!end || isDatabaseUnavailable(cause)) {
      log.warn(
        { err: cause },
        `could not record the step's ${end ? 'end' : 'start'}; the step runs on`,
      );
      end?.written();
      return;
    }
    const error = `${end.value.error ?? ''} (its output could not be stored: ${String(cause)})`;
    const bare = {
      ...entry,
      end: { ...end, value: { ...end.value, output: '', error: error.trim() } },
    };
    try {
      await writeStepRecords(this.db, [record(bare, performance.now())]);
    } catch (again) {
      log.warn({ err: again }, "could not record the step's end; the step runs on");
    }
    end.written();
  }
}

// Object.assign, not `{ ...object, more }`: on Node 20 the spread takes V8's slow path.
function record(entry: Entry, now: number): StepRecord {
  const { end } = entry;
  return Object.assign({}, entry.step, {
    startedAgoMs: now - entry.startedAt,
    end: end && Object.assign({}, end.value, { endedAgoMs: now - end.at }),
  });
}
