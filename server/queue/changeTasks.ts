// Changing a task from outside its worker: cancel and retry. Each is one statement that only
// matches the states it may change, so a race with a worker resolves in the database.
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { Queryable } from '../db/database.js';

export type CancelResult =
  | { kind: 'cancelled' }
  /** Running: the node that runs it has to stop it. */
  | { kind: 'cancelling'; rowId: number; lockedBy: string | null }
  | { kind: 'finished'; status: TaskStatus }
  | { kind: 'not-found' };

const CANCEL = `
UPDATE queue_tasks
SET status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
    completed_at = CASE WHEN status = 'pending' THEN now() ELSE completed_at END,
    error_message = CASE WHEN status = 'pending' THEN 'cancelled by ' || $2 || ' before it started'
                    ELSE error_message END,
    cancel_requested_at = coalesce(cancel_requested_at, now())
WHERE task_id = $1 AND status IN ('pending', 'running')
RETURNING id, status, locked_by`;

export async function requestCancel(
  db: Queryable,
  taskId: string,
  user: string,
): Promise<CancelResult> {
  const [row] = await db.query<{ id: number; status: TaskStatus; locked_by: string | null }>(
    CANCEL,
    [taskId, user],
  );
  if (row) {
    return row.status === 'cancelled'
      ? { kind: 'cancelled' }
      : { kind: 'cancelling', rowId: row.id, lockedBy: row.locked_by };
  }
  const status = await readStatus(db, taskId);
  return status ? { kind: 'finished', status } : { kind: 'not-found' };
}

// A manual retry gives the task as many attempts as it had at first: the attempts used so far
// become its base. Attempt numbers keep counting, so every attempt's records stay apart.
const RETRY = `
UPDATE queue_tasks
SET status = 'pending', run_at = now(), started_at = NULL, completed_at = NULL,
    error_message = NULL, cancel_requested_at = NULL, locked_by = NULL, lease_expires_at = NULL,
    attempt_base = attempts - lost_count
WHERE task_id = $1 AND status IN ('failed', 'cancelled')
RETURNING id`;

export type RetryResult =
  { kind: 'retried' } | { kind: 'not-retryable'; status: TaskStatus } | { kind: 'not-found' };

export async function retryTask(db: Queryable, taskId: string): Promise<RetryResult> {
  const [row] = await db.query<{ id: number }>(RETRY, [taskId]);
  if (row) return { kind: 'retried' };
  const status = await readStatus(db, taskId);
  return status ? { kind: 'not-retryable', status } : { kind: 'not-found' };
}

export async function readStatus(db: Queryable, taskId: string): Promise<TaskStatus | undefined> {
  const [row] = await db.query<{ status: TaskStatus }>(
    'SELECT status FROM queue_tasks WHERE task_id = $1',
    [taskId],
  );
  return row?.status;
}
