// The timer that starts tasks enqueued to run later on time: it sleeps until the earliest run_at
// it knows of and then wakes the workers, instead of leaving the task to the next poll. It
// learns of new run_at times from this node's enqueues and, on PostgreSQL, from the others'
// notifications; it asks the database again after each wake-up and on every poll.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { CHANNELS } from './channels.js';

const NEXT_RUN_AT = `
SELECT (extract(epoch FROM min(run_at)) * 1000)::float8 AS at
FROM queue_tasks WHERE status = 'pending' AND run_at > now()`;

/** setTimeout's longest delay; a later time is re-armed when it fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class RunLaterWaker {
  private timer: { at: number; handle: NodeJS.Timeout } | undefined;
  private poll: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly wake: () => void,
    private readonly pollIntervalMs: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.unlisten = await this.db.listen(
      CHANNELS.runLater,
      (payload) => this.wakeAt(Number(payload)),
      () => void this.refresh(),
    );
    this.poll = setInterval(() => void this.refresh(), this.pollIntervalMs);
    this.poll.unref();
    await this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer.handle);
    if (this.poll) clearInterval(this.poll);
    await this.unlisten?.().catch(() => undefined);
  }

  /** Wakes the workers at `at` (Unix ms), unless an earlier wake-up is already set. */
  wakeAt(at: number): void {
    if (this.stopped || !Number.isFinite(at) || (this.timer && this.timer.at <= at)) return;
    if (this.timer) clearTimeout(this.timer.handle);
    // One millisecond late rather than early: run_at <= now() must hold when the claim runs.
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, at - Date.now() + 1));
    const handle = setTimeout(() => {
      this.timer = undefined;
      this.wake();
      void this.refresh();
    }, delay);
    handle.unref();
    this.timer = { at, handle };
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    try {
      const [row] = await this.db.query<{ at: number | null }>(NEXT_RUN_AT);
      if (row?.at != null) this.wakeAt(row.at);
    } catch (error) {
      this.log.warn({ err: error }, 'could not read the next run_at; the poll tries again');
    }
  }
}
