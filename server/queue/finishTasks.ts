// Records how attempts ended, many tasks in one statement. Fenced: a row changes only while this
// node still holds that very attempt, so a node that lost its lease cannot overwrite the work of
// the node that took the task over. A failed attempt with attempts left goes back to `pending`
// after an exponential backoff with jitter; its error is kept in `errors` either way.
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { Queryable } from '../db/database.js';
import type { TaskOutcome } from './types.js';

export interface FinishedAttempt {
  id: number;
  attempt: number;
  outcome: Exclude<TaskOutcome, { kind: 'released' }>;
}

/** A task's state after its attempt was recorded; `runAt` is when a retry may start. */
export interface FinishedRow {
  status: TaskStatus;
  runAt: Date;
}

export interface RetryPolicy {
  /** Delay before the first retry, in ms; doubled for each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
}

// Evaluated on the row as locked by the UPDATE, so a cancel request that lands meanwhile wins.
const RETRY = `(v.outcome = 'failed' AND t.cancel_requested_at IS NULL
  AND t.attempts - t.lost_count - t.attempt_base < t.max_attempts)`;

const FINISH = `
UPDATE queue_tasks t
SET status = CASE WHEN ${RETRY} THEN 'pending' ELSE v.outcome END,
    completed_at = CASE WHEN ${RETRY} THEN NULL ELSE now() END,
    run_at = CASE WHEN ${RETRY}
      THEN now() + least($7::float8, $6::float8 * power(2, t.attempts - t.lost_count - t.attempt_base - 1))
                   * (0.5 + random() / 2) * interval '1 millisecond'
      ELSE t.run_at END,
    error_message = v.error,
    errors = CASE WHEN v.error IS NULL THEN t.errors
      ELSE t.errors || jsonb_build_array(jsonb_build_object(
        'attempt', t.attempts, 'error', v.error, 'at', now(), 'node', t.locked_by))
      END,
    locked_by = NULL,
    lease_expires_at = NULL
FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[]) AS v(id, attempt, outcome, error)
WHERE t.id = v.id AND t.attempts = v.attempt AND t.status = 'running' AND t.locked_by = $1
RETURNING t.id, t.status, t.run_at`;

export async function finishTasks(
  db: Queryable,
  nodeId: string,
  attempts: readonly FinishedAttempt[],
  retry: RetryPolicy,
): Promise<Map<number, FinishedRow>> {
  if (attempts.length === 0) return new Map();
  const rows = await db.query<{ id: number; status: TaskStatus; run_at: Date }>(FINISH, [
    nodeId,
    attempts.map((a) => a.id),
    attempts.map((a) => a.attempt),
    attempts.map((a) => a.outcome.kind),
    attempts.map((a) => (a.outcome.kind === 'completed' ? null : a.outcome.error)),
    retry.baseDelayMs,
    retry.maxDelayMs,
  ]);
  return new Map(rows.map((row) => [row.id, { status: row.status, runAt: row.run_at }]));
}

// Shutdown: the attempt did not fail, it was interrupted, so it is not counted.
const RELEASE = `
UPDATE queue_tasks
SET status = 'pending', attempts = attempts - 1, started_at = NULL, run_at = now(),
    locked_by = NULL, lease_expires_at = NULL
WHERE id = ANY($2::bigint[]) AND status = 'running' AND locked_by = $1
RETURNING id`;

/** Hands interrupted tasks back to the queue for another node. Returns the ids released. */
export async function releaseTasks(
  db: Queryable,
  nodeId: string,
  ids: readonly number[],
): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db.query<{ id: number }>(RELEASE, [nodeId, ids]);
  return rows.map((row) => row.id);
}
