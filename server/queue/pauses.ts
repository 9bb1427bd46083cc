// Pausing claims, cluster-wide (scope `*`) or for one application. The pause lives in
// queue_pauses, and every claim statement filters on it, so a pause holds for every node from
// the moment it commits, and across restarts; enqueueing is not affected.
import type { Queryable } from '../db/database.js';

/** The scope of a cluster-wide pause. */
export const CLUSTER_SCOPE = '*';

/**
 * The claim's filter: no pause covers the task. Two uncorrelated sub-queries, each run once per
 * statement: a correlated NOT EXISTS let the planner, with no statistics on the (mostly empty)
 * table, sort every pending task instead of walking the claim index (60 ms instead of 0.1 ms a
 * claim with 20,000 pending). The application name is compared as an expression (`|| ''`), which
 * has no statistics: on the bare column, once a burst of one application is analyzed (one
 * distinct value), the planner expects `<> ALL` to remove every row and again sorts the whole
 * backlog by a sequential scan (17 ms instead of 0.2 ms a claim with 10,000 pending).
 */
export const NOT_PAUSED = `NOT EXISTS (SELECT 1 FROM queue_pauses WHERE scope = '${CLUSTER_SCOPE}')
    AND (app_name || '') <> ALL (ARRAY(SELECT scope FROM queue_pauses))`;

export interface PauseRow {
  scope: string;
  paused_by: string;
  paused_at: Date;
}

/** Pauses `scope`; false when it was paused already (the first pause is kept). */
export async function addPause(db: Queryable, scope: string, user: string): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO queue_pauses (scope, paused_by) VALUES ($1, $2)
     ON CONFLICT (scope) DO NOTHING RETURNING scope`,
    [scope, user],
  );
  return rows.length > 0;
}

/** Lifts the pause of `scope`; false when it was not paused. */
export async function removePause(db: Queryable, scope: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM queue_pauses WHERE scope = $1 RETURNING scope', [scope]);
  return rows.length > 0;
}

export function readPauses(db: Queryable): Promise<PauseRow[]> {
  return db.query<PauseRow>(
    'SELECT scope, paused_by, paused_at FROM queue_pauses ORDER BY paused_at, scope',
  );
}
