// Stores a new task as `pending`. One statement, one round trip: the id comes from the sequence
// inside the INSERT, and the task id is built from it.
import type { Queryable } from '../db/database.js';
import { unixNanos } from './taskIds.js';
import type { NewTask } from './types.js';

export interface InsertedTask {
  taskId: string;
  appName: string;
  goldenPath: string;
  /** False when an idempotency key matched a task stored earlier: that task is returned. */
  created: boolean;
}

const INSERT = `
WITH n AS (SELECT nextval('queue_tasks_id_seq') AS id)
INSERT INTO queue_tasks (id, task_id, app_name, workflow_name, golden_path, spec, steps, metadata,
                         created_by, priority, max_attempts, idempotency_key, run_at)
SELECT n.id, 'task-' || $1::text || '-' || n.id, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb,
       $8, $9, $10, $11, coalesce($12::timestamptz, now())
FROM n
ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING task_id, app_name, golden_path`;

// A key is remembered for 24 hours; after that the same key starts a new task.
const FORGET_EXPIRED_KEY = `
UPDATE queue_tasks SET idempotency_key = NULL
WHERE created_by = $1 AND idempotency_key = $2 AND enqueued_at < now() - interval '24 hours'`;

const FIND_BY_KEY = `
SELECT task_id, app_name, golden_path FROM queue_tasks
WHERE created_by = $1 AND idempotency_key = $2`;

interface Row {
  task_id: string;
  app_name: string;
  golden_path: string;
}

export async function insertTask(db: Queryable, task: NewTask): Promise<InsertedTask> {
  if (task.idempotencyKey !== undefined) {
    await db.query(FORGET_EXPIRED_KEY, [task.createdBy, task.idempotencyKey]);
  }
  const rows = await db.query<Row>(
    INSERT,
    [
      unixNanos().toString(),
      task.appName,
      task.workflowName,
      task.goldenPath,
      JSON.stringify(task.spec),
      JSON.stringify(task.steps),
      JSON.stringify(task.metadata),
      task.createdBy,
      task.priority,
      task.maxAttempts,
      task.idempotencyKey ?? null,
      task.runAt ?? null,
    ],
    { name: 'insert_task' },
  );
  const inserted = rows[0];
  if (inserted) return toInserted(inserted, true);
  // The key was taken: ON CONFLICT waited for the other insert to commit, so the row is there.
  const [existing] = await db.query<Row>(FIND_BY_KEY, [task.createdBy, task.idempotencyKey]);
  if (!existing) throw new Error('idempotency key conflict without a stored task');
  return toInserted(existing, false);
}

function toInserted(row: Row, created: boolean): InsertedTask {
  return { taskId: row.task_id, appName: row.app_name, goldenPath: row.golden_path, created };
}

// Many tasks in one statement and one commit. The rows travel as one jsonb parameter (one
// JSON.stringify and PostgreSQL's own parser, where ten text[] parameters cost the client an
// escaping pass over every element; jsonb, not json, so that a row's fields are read without
// parsing its text again), each row as [app_name, spec, priority, k]: what tasks of a
// batch share (golden path, steps, metadata, creator) goes once in a second parameter, indexed by
// k, so the statement carries little more than the specs themselves. Each row's task id embeds
// its own nanosecond stamp ($3 + its position), which is how the returned rows are matched back.
const INSERT_MANY = `
WITH c AS (
  SELECT c.ord - 1 AS k, c.e FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS c(e, ord)
), n AS (
  SELECT r.ord, r.e, nextval('queue_tasks_id_seq') AS id
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS r(e, ord)
  ORDER BY r.ord
)
INSERT INTO queue_tasks (id, task_id, app_name, workflow_name, golden_path, spec, steps, metadata,
                         created_by, priority, max_attempts)
SELECT n.id, 'task-' || ($3::bigint + n.ord - 1)::text || '-' || n.id, n.e->>0, c.e->>0,
       c.e->>1, n.e->1, c.e->2, c.e->3, c.e->>4, (n.e->>2)::int,
       (c.e->>5)::int
FROM n JOIN c ON c.k = (n.e->>3)::int
ORDER BY n.ord
RETURNING task_id`;

/** Inserts tasks without idempotency keys; the result is in the order of `tasks`. */
export async function insertTasks(
  db: Queryable,
  tasks: readonly NewTask[],
): Promise<InsertedTask[]> {
  if (tasks.length === 1) return [await insertTask(db, tasks[0]!)];
  const shared: unknown[][] = [];
  const sharedIndex = new Map<string, number>();
  let previous: NewTask | undefined;
  let previousSteps = '';
  let k = -1;
  const rows = tasks.map((t) => {
    // A golden path's steps are one object for all its tasks: stringified once.
    const steps = previous?.steps === t.steps ? previousSteps : JSON.stringify(t.steps);
    // Tasks of a batch mostly share all of it with the one before: no key to build then.
    if (!previous || steps !== previousSteps || !sameShared(previous, t)) {
      const entry = [t.workflowName, t.goldenPath, t.steps, t.metadata, t.createdBy, t.maxAttempts];
      const key = JSON.stringify(entry);
      k = sharedIndex.get(key) ?? shared.push(entry) - 1;
      sharedIndex.set(key, k);
    }
    previous = t;
    previousSteps = steps;
    return [t.appName, t.spec, t.priority, k];
  });
  // Strictly increasing within the statement, so every row's stamp is its own.
  const first = unixNanos();
  const inserted = await db.query<{ task_id: string }>(
    INSERT_MANY,
    [JSON.stringify(rows), JSON.stringify(shared), first.toString()],
    { name: 'insert_tasks' },
  );
  const byNanos = new Map<string, string>();
  for (const r of inserted) byNanos.set(r.task_id.slice(5, r.task_id.indexOf('-', 5)), r.task_id);
  return tasks.map((task, i) => {
    const taskId = byNanos.get((first + BigInt(i)).toString());
    if (!taskId) throw new Error('a batch insert returned fewer rows than it was given');
    return { taskId, appName: task.appName, goldenPath: task.goldenPath, created: true };
  });
}

/** Whether two tasks share what goes in `shared`, their steps aside. */
function sameShared(a: NewTask, b: NewTask): boolean {
  if (
    a.workflowName !== b.workflowName ||
    a.goldenPath !== b.goldenPath ||
    a.createdBy !== b.createdBy ||
    a.maxAttempts !== b.maxAttempts
  ) {
    return false;
  }
  const ma = a.metadata as Record<string, unknown>;
  const mb = b.metadata as Record<string, unknown>;
  const keys = Object.keys(ma);
  return keys.length === Object.keys(mb).length && keys.every((key) => ma[key] === mb[key]);
}
