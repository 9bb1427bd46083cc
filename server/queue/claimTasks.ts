// Takes up to `limit` runnable tasks for this node: highest priority first, FIFO within a
// priority. SKIP LOCKED lets many nodes claim at once without waiting on each other's rows.
// With a per-application limit, no application gets more than `appLimit` tasks running across
// the cluster: then claims take turns under an advisory lock, so the count they check is exact.
// Paused applications (queue_pauses) are skipped; a claim hands over and clears `resume_from`.
import type { WorkflowStep } from '../../shared/spec.js';
import { ADVISORY_LOCKS, type Database } from '../db/database.js';
import {
  finishCtes,
  finishParams,
  toMap,
  type FinishedAttempt,
  type FinishedRow,
  type FinishRow,
  type RetryPolicy,
} from './finishTasks.js';
import { NOT_PAUSED } from './pauses.js';
import type { ClaimedTask } from './types.js';

const CLAIMED = `
UPDATE queue_tasks t
SET status = 'running', started_at = now(), attempts = t.attempts + 1, locked_by = $1,
    lease_expires_at = now() + $3 * interval '1 millisecond', resume_from = NULL
FROM next
WHERE t.id = next.id
RETURNING t.id, t.task_id, t.app_name, t.workflow_name, t.steps, t.attempts, t.enqueued_at,
          t.started_at, next.resume_from`;

const NEXT = `next AS (
  SELECT id, resume_from FROM queue_tasks
  WHERE status = 'pending' AND run_at <= now() AND ${NOT_PAUSED}
  ORDER BY priority DESC NULLS LAST, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)`;

/** The claim statement without a per-application limit ($1 node, $2 limit, $3 lease ms). */
export const CLAIM = `
WITH ${NEXT}${CLAIMED}`;

// The claim and the results of this node's finished attempts in one statement: one round trip,
// one commit and one call of each trigger where there were two. Both parts keep their own fencing
// (finishTasks.ts); they touch different rows (running ones are finished, pending ones claimed),
// and a task put back to `pending` by its result is not claimed by the same statement (one
// snapshot). Result rows come back with `finished` set.
const CLAIM_AND_FINISH = `
WITH ${finishCtes(4)}, ${NEXT}, claimed AS (${CLAIMED}
)
SELECT false AS finished, id, task_id, app_name, workflow_name, steps, attempts, enqueued_at,
       started_at, resume_from, NULL::text AS status, NULL::timestamptz AS run_at
  FROM claimed
UNION ALL
SELECT true, id, NULL, NULL, NULL, NULL, attempts, NULL, NULL, NULL, status, run_at
  FROM finished`;

// Each application with room (limit minus what it runs) offers the head of its own queue; the
// best of those offers are taken. A burst from one application cannot hide another's tasks.
const CLAIM_FAIR = `
WITH running AS (
  SELECT app_name, count(*) AS n FROM queue_tasks WHERE status = 'running' GROUP BY app_name
), apps AS (
  SELECT DISTINCT app_name FROM queue_tasks
  WHERE status = 'pending' AND run_at <= now() AND ${NOT_PAUSED}
), room AS (
  SELECT a.app_name, $4 - coalesce(r.n, 0) AS room
  FROM apps a LEFT JOIN running r ON r.app_name = a.app_name
  WHERE $4 - coalesce(r.n, 0) > 0
), offers AS (
  SELECT o.id, o.priority
  FROM room CROSS JOIN LATERAL (
    SELECT id, priority FROM queue_tasks q
    WHERE q.status = 'pending' AND q.app_name = room.app_name AND q.run_at <= now()
    ORDER BY q.priority DESC NULLS LAST, q.id
    LIMIT least(room.room, $2)
  ) o
), next AS (
  SELECT id, resume_from FROM queue_tasks
  WHERE id IN (SELECT id FROM offers ORDER BY priority DESC, id LIMIT $2) AND status = 'pending'
  ORDER BY priority DESC NULLS LAST, id
  FOR UPDATE SKIP LOCKED
)${CLAIMED}`;

interface Row {
  id: number;
  task_id: string;
  app_name: string;
  workflow_name: string;
  steps: WorkflowStep[];
  attempts: number;
  enqueued_at: Date;
  started_at: Date;
  resume_from: number | null;
}

export interface ClaimOptions {
  nodeId: string;
  limit: number;
  leaseMs: number;
  /** Most tasks of one application running at once across the cluster; 0 for no limit. */
  appLimit?: number;
  /** Gives up waiting for the answer after this long (the leases then expire unused). */
  timeoutMs?: number;
}

export async function claimTasks(db: Database, options: ClaimOptions): Promise<ClaimedTask[]> {
  const appLimit = options.appLimit ?? 0;
  const params = [options.nodeId, options.limit, options.leaseMs];
  const rows =
    appLimit > 0
      ? await db.transaction(async (tx) => {
          // A fresh statement after the lock sees every claim committed before it.
          await tx.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.fairClaim]);
          return tx.query<Row>(CLAIM_FAIR, [...params, appLimit]);
        })
      : await db.query<Row>(CLAIM, params, { timeoutMs: options.timeoutMs, name: 'claim' });
  return toClaimed(rows);
}

/**
 * Claims like `claimTasks` (never under a per-application limit) and stores these results in the
 * same statement. All or nothing: when it fails, neither the claim nor any result was written.
 */
export async function claimAndFinish(
  db: Database,
  options: Omit<ClaimOptions, 'appLimit'>,
  results: { attempts: readonly FinishedAttempt[]; retry: RetryPolicy },
): Promise<{ tasks: ClaimedTask[]; finished: Map<string, FinishedRow> }> {
  const rows = await db.query<Row & FinishRow & { finished: boolean }>(
    CLAIM_AND_FINISH,
    [
      options.nodeId,
      options.limit,
      options.leaseMs,
      ...finishParams(results.attempts, results.retry),
    ],
    { timeoutMs: options.timeoutMs, name: 'claim_and_finish' },
  );
  return {
    tasks: toClaimed(rows.filter((row) => !row.finished)),
    finished: toMap(rows.filter((row) => row.finished)),
  };
}

function toClaimed(rows: Row[]): ClaimedTask[] {
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
      resumeFrom: row.resume_from,
    }));
}
