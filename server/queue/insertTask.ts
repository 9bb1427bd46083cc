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

// Many tasks in one statement and one commit. The rows travel as one JSON parameter: one
// JSON.stringify and PostgreSQL's own JSON parser, where ten text[] parameters cost the client
// an escaping pass over every element (most of the client's time for a batch of 1,000). Each
// row's task id embeds its own nanosecond stamp, which is how the returned rows are matched back.
const INSERT_MANY = `
WITH v AS (
  SELECT * FROM json_to_recordset($1::json)
    AS v(ord int, nanos text, app_name text, workflow_name text, golden_path text, spec jsonb,
         steps jsonb, metadata jsonb, created_by text, priority int, max_attempts int)
), n AS (
  SELECT v.*, nextval('queue_tasks_id_seq') AS id FROM v ORDER BY ord
)
INSERT INTO queue_tasks (id, task_id, app_name, workflow_name, golden_path, spec, steps, metadata,
                         created_by, priority, max_attempts)
SELECT id, 'task-' || nanos || '-' || id, app_name, workflow_name, golden_path, spec, steps,
       metadata, created_by, priority, max_attempts
FROM n ORDER BY ord
RETURNING task_id`;

/** Inserts tasks without idempotency keys; the result is in the order of `tasks`. */
export async function insertTasks(
  db: Queryable,
  tasks: readonly NewTask[],
): Promise<InsertedTask[]> {
  if (tasks.length === 1) return [await insertTask(db, tasks[0]!)];
  // Strictly increasing within the statement, so every row's stamp is its own.
  const first = unixNanos();
  const nanos = tasks.map((_, i) => (first + BigInt(i)).toString());
  const rows = tasks.map((t, i) => ({
    ord: i,
    nanos: nanos[i],
    app_name: t.appName,
    workflow_name: t.workflowName,
    golden_path: t.goldenPath,
    spec: t.spec,
    steps: t.steps,
    metadata: t.metadata,
    created_by: t.createdBy,
    priority: t.priority,
    max_attempts: t.maxAttempts,
  }));
  const inserted = await db.query<{ task_id: string }>(INSERT_MANY, [JSON.stringify(rows)], {
    name: 'insert_tasks',
  });
  const byNanos = new Map<string, string>();
  for (const r of inserted) byNanos.set(r.task_id.slice(5, r.task_id.indexOf('-', 5)), r.task_id);
  return tasks.map((task, i) => {
    const taskId = byNanos.get(nanos[i]!);
    if (!taskId) throw new Error('a batch insert returned fewer rows than it was given');
    return { taskId, appName: task.appName, goldenPath: task.goldenPath, created: true };
  });
}
