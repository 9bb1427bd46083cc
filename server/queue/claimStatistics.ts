// Keeps PostgreSQL's estimate of the pending tasks near the truth, for the claim's plan. The
// planner walks the claim index only when it expects many pending tasks; when it expects few it
// reads every pending row through the run_at index and sorts them, for every claim (BENCHMARKS.md:
// 6–10 ms a claim for a backlog of 10,000 instead of 0.2 ms). Autovacuum analyzes the table only
// after a tenth of it changed, so a burst into a new table, or into a long history, can drain
// entirely on the slow plan. A node with workers compares the planner's estimate with the exact
// count (the counters) now and then, and analyzes queue_tasks when the two are far apart; one node
// at a time (advisory lock). A node whose claims come back full (a backlog) asks for the
// comparison at once (`nudge`, at most once a second): with the estimate of an empty table, a
// claim at 100,000 pending sorts them all, 70-86 ms a claim against 5 ms after ANALYZE
// (BENCHMARKS.md), and a burst into a working node would drain on that plan until the next
// periodic check.
import type { Logger } from 'pino';
import { ADVISORY_LOCKS, type Database, type Queryable } from '../db/database.js';
import { explainPlan } from '../db/explainPlan.js';
import { repeatEvery } from './repeat.js';

/** Fewer pending tasks than this never need it: any plan is quick. */
export const MIN_PENDING = 1_000;
/** How far below the truth the estimate may be before the table is analyzed. */
const OFF_BY = 10;

export interface PendingEstimate {
  /** Pending tasks, from the counters. */
  pending: number;
  /** What the planner expects `status = 'pending'` to match. */
  estimated: number;
}

export async function readPendingEstimate(db: Queryable): Promise<PendingEstimate> {
  const [counted] = await db.query<{ pending: number }>(
    'SELECT coalesce(sum(pending), 0)::float8 AS pending FROM queue_counters',
  );
  const [plan] = await explainPlan(db, `SELECT id FROM queue_tasks WHERE status = 'pending'`);
  return { pending: counted?.pending ?? 0, estimated: plan!['Plan Rows'] };
}

export function estimateIsStale({ pending, estimated }: PendingEstimate): boolean {
  return pending >= MIN_PENDING && pending > OFF_BY * estimated;
}

export class ClaimStatistics {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<boolean> = Promise.resolve(false);
  private inFlight = false;
  private stopped = false;
  /** When the last comparison started (performance.now). */
  private lastCheck = -Infinity;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    /** How often the estimate is compared with the count. @default 5000 */
    private readonly intervalMs = 5_000,
    /** Least time between two comparisons asked for by `nudge`. @default 1000 */
    private readonly nudgeGapMs = 1_000,
  ) {}

  start(): void {
    void this.check();
    this.timer = repeatEvery(this.intervalMs, () => this.check());
  }

  /**
   * A comparison now, unless one runs or ran less than `nudgeGapMs` ago (then undefined): what
   * `checkOnce` resolves to.
   */
  nudge(): Promise<boolean> | undefined {
    const due = performance.now() - this.lastCheck >= this.nudgeGapMs;
    return due && !this.stopped && !this.inFlight ? this.check() : undefined;
  }

  private check(): Promise<boolean> {
    if (this.stopped || this.inFlight) return this.checking;
    this.checking = this.checkOnce();
    return this.checking;
  }

  /** One comparison; resolves to whether this node analyzed the table. Never rejects. */
  async checkOnce(): Promise<boolean> {
    this.inFlight = true;
    this.lastCheck = performance.now();
    try {
      const before = await readPendingEstimate(this.database);
      if (!estimateIsStale(before)) return false;
      const analyzed = await this.database.tryAdvisoryLock(ADVISORY_LOCKS.analyze, async (db) => {
        // Never behind a vacuum of the table (a long one would hold this node's connection).
        await db.query('ANALYZE (SKIP_LOCKED) queue_tasks');
        return true;
      });
      if (!analyzed) return false;
      // Skipped while a vacuum holds the table: the next check tries again.
      const after = await readPendingEstimate(this.database);
      if (estimateIsStale(after)) return false;
      this.logger.info(
        {
          pending: before.pending,
          estimated: Math.round(before.estimated),
          estimatedNow: Math.round(after.estimated),
        },
        "analyzed queue_tasks: the planner's estimate of the pending tasks was far below the count",
      );
      return true;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not check the statistics of queue_tasks');
      return false;
    } finally {
      this.inFlight = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.checking;
  }
}
