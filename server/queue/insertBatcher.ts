// Enqueues that arrive while an insert is in flight go out together in the next one: under load
// many tasks share one statement and one commit, while a lone enqueue waits only for the current
// turn of the event loop.
import type { Queryable } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { insertTasks, type InsertedTask } from './insertTask.js';
import type { NewTask } from './types.js';

interface Waiting {
  task: NewTask;
  resolve: (inserted: InsertedTask) => void;
  reject: (error: unknown) => void;
}

export class InsertBatcher {
  private waiting: Waiting[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly maxBatch = 500,
  ) {}

  /** Resolves once the task is committed. For tasks without an idempotency key. */
  insert(task: NewTask): Promise<InsertedTask> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ task, resolve, reject });
      this.flushing ??= this.flushAll().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  private async flushAll(): Promise<void> {
    // Let the requests that arrived in the same turn of the event loop join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      try {
        const inserted = await insertTasks(
          this.db,
          batch.map((w) => w.task),
        );
        batch.forEach((w, i) => w.resolve(inserted[i]!));
      } catch (error) {
        if (batch.length === 1 || isDatabaseUnavailable(error)) {
          for (const w of batch) w.reject(error);
          continue;
        }
        // One bad row must not fail the others: try them one by one.
        for (const w of batch) {
          await insertTasks(this.db, [w.task]).then(([row]) => w.resolve(row!), w.reject);
        }
      }
    }
  }
}
