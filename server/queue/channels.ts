// PostgreSQL NOTIFY channels the nodes of a cluster talk over, and a coalescing sender: under a
// burst of enqueues at most one NOTIFY is in flight, the rest fold into the next one.
import type { Queryable } from '../db/database.js';

export const CHANNELS = {
  /** A task became runnable: idle nodes claim. */
  newTask: 'queue_task_new',
  /** Payload: the task's row id. The node running it stops it. */
  cancelTask: 'queue_task_cancel',
  /** Payload: a run_at in Unix milliseconds. Nodes with workers set a timer for it. */
  runLater: 'queue_task_run_later',
  /** A schedule was stored, changed or removed: tickers look at the next due time again. */
  schedulesChanged: 'queue_schedules_changed',
} as const;

export function notify(db: Queryable, channel: string, payload = ''): Promise<unknown> {
  return db.query('SELECT pg_notify($1, $2)', [channel, payload], { name: 'notify' });
}

export class CoalescingNotifier {
  private inFlight = false;
  private again = false;

  constructor(
    private readonly db: Queryable,
    private readonly channel: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  signal(): void {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    notify(this.db, this.channel).then(
      () => this.done(),
      (error: unknown) => {
        this.onError(error);
        this.done();
      },
    );
  }

  private done(): void {
    this.inFlight = false;
    if (this.again) {
      this.again = false;
      this.signal();
    }
  }
}
