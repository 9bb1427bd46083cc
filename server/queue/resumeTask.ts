// A retry `from=failed`: the failed task is queued again, marked to start at the first step its
// latest attempt did not complete. Like a retry from the start, it gets a fresh set of attempts.
import type { Queryable } from '../db/database.js';
import { readStatus, type RetryResult } from './changeTasks.js';

const RESUME = `
UPDATE queue_tasks t
SET status = 'pending', run_at = now(), started_at = NULL, completed_at = NULL,
    error_message = NULL, cancel_requested_at = NULL, locked_by = NULL, lease_expires_at = NULL,
    attempt_base = t.attempts - t.lost_count,
    resume_from = (SELECT min(s.position) FROM queue_task_steps s
                   WHERE s.task_id = t.id AND s.attempt = t.attempts AND s.status <> 'completed')
WHERE t.task_id = $1 AND t.status = 'failed'
RETURNING t.resume_from`;

export type ResumeResult = RetryResult & { fromStep?: number | null };

export async function resumeFailedTask(db: Queryable, taskId: string): Promise<ResumeResult> {
  const [row] = await db.query<{ resume_from: number | null }>(RESUME, [taskId]);
  if (row) return { kind: 'retried', fromStep: row.resume_from };
  const status = await readStatus(db, taskId);
  return status ? { kind: 'not-retryable', status } : { kind: 'not-found' };
}
