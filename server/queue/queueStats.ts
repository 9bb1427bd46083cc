// The eight numbers of GET /api/queue/stats, for the whole cluster, from the trigger-kept
// counters (O(1) whatever the size of queue_tasks) and the live nodes. queue_size counts the
// tasks that may run now: pending ones whose run_at is ahead are taken off (an index range).
import type { QueueStats } from '../../shared/api.js';
import type { Queryable } from '../db/database.js';

const STATS = `
SELECT coalesce(sum(pending), 0)::float8 AS pending,
       coalesce(sum(running), 0)::float8 AS running,
       coalesce(sum(enqueued), 0)::float8 AS enqueued,
       coalesce(sum(completed), 0)::float8 AS completed,
       coalesce(sum(failed), 0)::float8 AS failed,
       coalesce(sum(cancelled), 0)::float8 AS cancelled,
       coalesce(sum(queue_time_ms_sum), 0)::float8 AS queue_ms,
       coalesce(sum(queue_time_count), 0)::float8 AS queue_n,
       coalesce(sum(exec_time_ms_sum), 0)::float8 AS exec_ms,
       coalesce(sum(exec_time_count), 0)::float8 AS exec_n,
       -- Pending tasks whose run_at is ahead (run later, retry backoff) may not run now.
       (SELECT count(*)::float8 FROM queue_tasks
         WHERE status = 'pending' AND run_at > now()) AS waiting,
       (SELECT coalesce(sum(concurrency), 0)::float8 FROM queue_nodes
         WHERE NOT draining AND heartbeat_at > now() - $1 * interval '1 millisecond') AS workers
FROM queue_counters`;

interface Row {
  pending: number;
  waiting: number;
  running: number;
  enqueued: number;
  completed: number;
  failed: number;
  cancelled: number;
  queue_ms: number;
  queue_n: number;
  exec_ms: number;
  exec_n: number;
  workers: number;
}

export interface QueueTotals extends QueueStats {
  tasks_cancelled: number;
}

/** `liveWithinMs`: a node counts as alive if it heartbeat that recently. */
export async function readQueueStats(db: Queryable, liveWithinMs: number): Promise<QueueTotals> {
  const [row] = await db.query<Row>(STATS, [liveWithinMs], { name: 'queue_stats' });
  if (!row) throw new Error('queue_counters returned no row');
  return {
    active_tasks: row.running,
    avg_execution_time_ms: row.exec_n > 0 ? Math.round(row.exec_ms / row.exec_n) : 0,
    avg_queue_time_ms: row.queue_n > 0 ? Math.round(row.queue_ms / row.queue_n) : 0,
    queue_size: Math.max(0, row.pending - row.waiting),
    tasks_completed: row.completed,
    tasks_enqueued: row.enqueued,
    tasks_failed: row.failed,
    workers: row.workers,
    tasks_cancelled: row.cancelled,
  };
}
