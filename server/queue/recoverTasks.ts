// Gives back the tasks of nodes that died: a running task whose lease expired returns to
// `pending` (or ends `failed` once it has been lost too often, `cancelled` if a cancel was asked
// for). Any node may run this, for any node's tasks, its own included: a node stops its own runs
// before their leases expire (see leaseKeeper.ts), so an expired lease is a run that is over.
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { Queryable } from '../db/database.js';

export interface RecoveredTask {
  taskId: string;
  appName: string;
  /** `pending` again, or `failed` / `cancelled` for good. */
  status: TaskStatus;
  attempt: number;
  errorMessage: string | null;
}

const RECOVER = `
UPDATE queue_tasks t
SET status = CASE
      WHEN t.cancel_requested_at IS NOT NULL THEN 'cancelled'
      WHEN t.lost_count < $1 THEN 'pending'
      ELSE 'failed' END,
    completed_at = CASE WHEN t.cancel_requested_at IS NULL AND t.lost_count < $1 THEN NULL
      ELSE now() END,
    error_message = CASE
      WHEN t.cancel_requested_at IS NOT NULL THEN 'cancelled; its worker was lost'
      WHEN t.lost_count < $1 THEN t.error_message
      ELSE 'worker lost: node ' || t.locked_by || ' stopped renewing its lease (lost '
           || (t.lost_count + 1) || ' times)' END,
    errors = t.errors || jsonb_build_array(jsonb_build_object(
      'attempt', t.attempts, 'error', 'worker lost: node ' || t.locked_by || ' stopped renewing its lease',
      'at', now(), 'node', t.locked_by)),
    lost_count = t.lost_count + 1,
    run_at = now(),
    locked_by = NULL,
    lease_expires_at = NULL
WHERE t.status = 'running' AND (t.lease_expires_at < now() OR $2)
RETURNING t.task_id, t.app_name, t.status, t.attempts, t.error_message`;

export async function recoverTasks(
  db: Queryable,
  options: {
    maxLost: number;
    /** Take every running task, expired or not: right when one process owns the database. */
    ignoreLeases?: boolean;
  },
): Promise<RecoveredTask[]> {
  const rows = await db.query<{
    task_id: string;
    app_name: string;
    status: TaskStatus;
    attempts: number;
    error_message: string | null;
  }>(RECOVER, [options.maxLost, options.ignoreLeases ?? false]);
  return rows.map((r) => ({
    taskId: r.task_id,
    appName: r.app_name,
    status: r.status,
    attempt: r.attempts,
    errorMessage: r.error_message,
  }));
}
