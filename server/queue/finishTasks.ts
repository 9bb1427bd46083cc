// Records how attempts ended, many tasks in one statement. Fenced: a row changes only while this
// node still holds that very attempt, so a node that lost its lease cannot overwrite the work of
// the node that took the task over. A failed attempt with attempts left goes back to `pending`
// after an exponential backoff with jitter; its error is kept in `errors` either way. A cancel
// request wins over everything but success: such a task ends `cancelled`, never `pending`.
// The rows of the steps that ended the workflows and were not written yet go in the same
// statement (unfenced, as every step row: they are keyed by attempt).
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { Queryable } from '../db/database.js';
import { MAX_ERROR_CHARS, storedLine } from '../db/storedText.js';
import { stepRecordsParams, stepRecordsUpsert } from '../workflow/stepRecords.js';
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

/**
 * The result write ($1 node) as two CTEs, `steps` (the carried step rows) and `finished` (the
 * tasks' rows, returning id, attempts, status, run_at). Its arrays and retry policy take the
 * parameters from `$p` on (`finishParams`), so a claim can carry the same write in its own
 * statement (claimTasks.ts).
 */
export function finishCtes(p: number): string {
  return `steps AS (${stepRecordsUpsert(p + 6)}
), finished AS (${finishUpdate(p)}
)`;
}

function finishUpdate(p: number): string {
  const [ids, attempts, outcomes, errors, base, max] = [0, 1, 2, 3, 4, 5].map((i) => `$${p + i}`);
  return `
UPDATE queue_tasks t
SET status = CASE WHEN v.outcome = 'completed' THEN 'completed'
      WHEN t.cancel_requested_at IS NOT NULL THEN 'cancelled'
      WHEN ${RETRY} THEN 'pending' ELSE v.outcome END,
    completed_at = CASE WHEN ${RETRY} THEN NULL ELSE now() END,
    run_at = CASE WHEN ${RETRY}
      THEN now() + least(${max}::float8, ${base}::float8 * power(2, t.attempts - t.lost_count - t.attempt_base - 1))
                   * (0.5 + random() / 2) * interval '1 millisecond'
      ELSE t.run_at END,
    error_message = CASE WHEN v.outcome = 'failed' AND t.cancel_requested_at IS NOT NULL
      THEN 'cancelled while its attempt failed: ' || v.error ELSE v.error END,
    errors = CASE WHEN v.error IS NULL THEN t.errors
      ELSE t.errors || jsonb_build_array(jsonb_build_object(
        'attempt', t.attempts, 'error', v.error, 'at', now(), 'node', t.locked_by))
      END,
    locked_by = NULL,
    lease_expires_at = NULL
FROM unnest(${ids}::bigint[], ${attempts}::int[], ${outcomes}::text[], ${errors}::text[]) AS v(id, attempt, outcome, error)
WHERE t.id = v.id AND t.attempts = v.attempt AND t.status = 'running' AND t.locked_by = $1
RETURNING t.id, t.attempts, t.status, t.run_at`;
}

const FINISH = `WITH ${finishCtes(2)}
SELECT id, attempts, status, run_at FROM finished`;

/** The parameters of `finishCtes` for these attempts, in order. */
export function finishParams(attempts: readonly FinishedAttempt[], retry: RetryPolicy): unknown[] {
  const stepRows = attempts.flatMap((a) => (a.outcome.stepRow ? [a.outcome.stepRow.record()] : []));
  return [
    attempts.map((a) => a.id),
    attempts.map((a) => a.attempt),
    attempts.map((a) => a.outcome.kind),
    attempts.map((a) =>
      a.outcome.kind === 'completed' ? null : storedLine(a.outcome.error, MAX_ERROR_CHARS),
    ),
    retry.baseDelayMs,
    retry.maxDelayMs,
    ...stepRecordsParams(stepRows),
  ];
}

export async function finishTasks(
  db: Queryable,
  nodeId: string,
  attempts: readonly FinishedAttempt[],
  retry: RetryPolicy,
): Promise<Map<string, FinishedRow>> {
  if (attempts.length === 0) return new Map();
  const rows = await db.query<FinishRow>(FINISH, [nodeId, ...finishParams(attempts, retry)], {
    name: 'finish_tasks',
  });
  return toMap(rows);
}

// Shutdown: the attempt did not fail, it was interrupted, so it does not use up one of the task's
// attempts (`attempt_base` moves instead; `attempts` only grows, so (task, attempt) names one run
// for ever). Fenced like FINISH, and only while the lease lasts: an expired lease is a lost
// worker, for recovery to count. A task someone asked to cancel is not handed back: it ends.
const RELEASE = `
UPDATE queue_tasks t
SET status = CASE WHEN t.cancel_requested_at IS NULL THEN 'pending' ELSE 'cancelled' END,
    attempt_base = CASE WHEN t.cancel_requested_at IS NULL THEN t.attempt_base + 1
      ELSE t.attempt_base END,
    started_at = CASE WHEN t.cancel_requested_at IS NULL THEN NULL ELSE t.started_at END,
    completed_at = CASE WHEN t.cancel_requested_at IS NULL THEN NULL ELSE now() END,
    error_message = CASE WHEN t.cancel_requested_at IS NULL THEN t.error_message
      ELSE 'cancelled while its node was stopping it' END,
    run_at = now(), locked_by = NULL, lease_expires_at = NULL
FROM unnest($2::bigint[], $3::int[]) AS v(id, attempt)
WHERE t.id = v.id AND t.attempts = v.attempt AND t.status = 'running' AND t.locked_by = $1
  AND t.lease_expires_at > now()
RETURNING t.id, t.attempts, t.status, t.run_at`;

/** Hands interrupted attempts back to the queue for another node. */
export async function releaseTasks(
  db: Queryable,
  nodeId: string,
  attempts: readonly { id: number; attempt: number }[],
): Promise<Map<string, FinishedRow>> {
  if (attempts.length === 0) return new Map();
  const rows = await db.query<FinishRow>(
    RELEASE,
    [nodeId, attempts.map((a) => a.id), attempts.map((a) => a.attempt)],
    { name: 'release_tasks' },
  );
  return toMap(rows);
}

export interface FinishRow {
  id: number;
  attempts: number;
  status: TaskStatus;
  run_at: Date;
}

/** One attempt of one task: what the worker and every fenced statement key a run by. */
export function runKey(id: number, attempt: number): string {
  return `${id}:${attempt}`;
}

export function toMap(rows: FinishRow[]): Map<string, FinishedRow> {
  return new Map(
    rows.map((row) => [runKey(row.id, row.attempts), { status: row.status, runAt: row.run_at }]),
  );
}
