// Takes up to `limit` runnable tasks for this node: highest priority first, FIFO within a
// priority. SKIP LOCKED lets many nodes claim at once without waiting on each other's rows.
import type { WorkflowStep } from '../../shared/spec.js';
import type { Queryable } from '../db/database.js';
import type { ClaimedTask } from './types.js';

const CLAIM = `
WITH next AS (
  SELECT id FROM queue_tasks
  WHERE status = 'pending' AND run_at <= now()
  ORDER BY priority DESC NULLS LAST, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE queue_tasks t
SET status = 'running', started_at = now(), attempts = t.attempts + 1, locked_by = $1,
    lease_expires_at = now() + $3 * interval '1 millisecond'
FROM next
WHERE t.id = next.id
RETURNING t.id, t.task_id, t.app_name, t.workflow_name, t.steps, t.attempts, t.enqueued_at,
          t.started_at`;

interface Row {
  id: number;
  task_id: string;
  app_name: string;
  workflow_name: string;
  steps: WorkflowStep[];
  attempts: number;
  enqueued_at: Date;
  started_at: Date;
}

export async function claimTasks(
  db: Queryable,
  options: { nodeId: string; limit: number; leaseMs: number },
): Promise<ClaimedTask[]> {
  const rows = await db.query<Row>(CLAIM, [options.nodeId, options.limit, options.leaseMs]);
  return rows
    .sort((a, b) => a.id - b.id)
    .map((row) => ({
      id: row.id,
      taskId: row.task_id,
      appName: row.app_name,
      workflowName: row.workflow_name,
      steps: row.steps,
      attempt: row.attempts,
      enqueuedAt: row.enqueued_at,
      startedAt: row.started_at,
    }));
}
