// Reading tasks: one with its steps, a page of them (newest first, keyset on the row id so a page
// never shifts while tasks are added), and a task's log from an offset.
import { pickMetadata, type TaskMetadata } from '../../shared/api.js';
import type { WorkflowStep } from '../../shared/spec.js';
import type {
  TaskDetail,
  TaskList,
  TaskListInput,
  TaskStep,
  TaskSummary,
} from '../../shared/tasks.js';
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { Queryable } from '../db/database.js';

interface TaskRow {
  id: number;
  task_id: string;
  app_name: string;
  workflow_name: string;
  golden_path: string;
  status: TaskStatus;
  priority: number;
  attempts: number;
  max_attempts: number;
  enqueued_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  run_at: Date;
  error_message: string | null;
  metadata: TaskMetadata;
  locked_by: string | null;
  lease_expires_at: Date | null;
  cancel_requested_at: Date | null;
  errors: { attempt: number; error: string; at: string; node?: string | null }[];
  steps: WorkflowStep[];
  spec: Record<string, unknown>;
}

interface StepRow {
  attempt: number;
  position: number;
  name: string;
  type: string;
  status: TaskStep['status'];
  started_at: Date;
  finished_at: Date | null;
  exit_code: number | null;
  output: string;
  output_bytes: number;
  error: string | null;
}

const SUMMARY_COLUMNS = `task_id, app_name, workflow_name, status, priority, attempts, enqueued_at,
  started_at, completed_at, error_message, metadata, run_at`;

const iso = (d: Date | null) => d?.toISOString() ?? null;

function toSummary(
  row: Pick<
    TaskRow,
    | 'task_id'
    | 'app_name'
    | 'workflow_name'
    | 'status'
    | 'priority'
    | 'attempts'
    | 'enqueued_at'
    | 'started_at'
    | 'completed_at'
    | 'error_message'
    | 'metadata'
    | 'run_at'
  >,
): TaskSummary {
  return {
    id: row.task_id,
    app_name: row.app_name,
    workflow_name: row.workflow_name,
    status: row.status,
    priority: row.priority,
    attempts: row.attempts,
    enqueued_at: row.enqueued_at.toISOString(),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    error_message: row.error_message,
    metadata: pickMetadata(row.metadata),
    run_at: row.run_at.toISOString(),
  };
}

export async function readTask(db: Queryable, taskId: string): Promise<TaskDetail | undefined> {
  const [row] = await db.query<TaskRow>(
    `SELECT id, ${SUMMARY_COLUMNS}, golden_path, max_attempts, run_at, locked_by, lease_expires_at,
            cancel_requested_at, errors, steps, spec
     FROM queue_tasks WHERE task_id = $1`,
    [taskId],
  );
  if (!row) return undefined;
  const records = await db.query<StepRow>(
    `SELECT attempt, position, name, type, status, started_at, finished_at, exit_code, output,
            output_bytes, error
     FROM queue_task_steps WHERE task_id = $1 AND attempt = $2 ORDER BY position`,
    [row.id, row.attempts],
  );
  const byPosition = new Map(records.map((r) => [r.position, r]));
  return {
    ...toSummary(row),
    golden_path: row.golden_path,
    max_attempts: row.max_attempts,
    locked_by: row.locked_by,
    lease_expires_at: iso(row.lease_expires_at),
    cancel_requested_at: iso(row.cancel_requested_at),
    errors: row.errors.map((e) => ({
      attempt: e.attempt,
      error: e.error,
      at: e.at,
      node: e.node ?? null,
    })),
    spec: row.spec,
    steps: row.steps.map((step, position) => {
      const record = byPosition.get(position);
      if (!record) {
        return {
          position,
          name: step.name,
          type: step.type,
          status: 'pending' as const,
          attempt: null,
          started_at: null,
          finished_at: null,
          duration_ms: null,
          exit_code: null,
          output: '',
          output_bytes: 0,
          output_truncated: false,
          error: null,
        };
      }
      return {
        position,
        name: record.name,
        type: record.type,
        status: record.status,
        attempt: record.attempt,
        started_at: record.started_at.toISOString(),
        finished_at: iso(record.finished_at),
        duration_ms: record.finished_at
          ? record.finished_at.getTime() - record.started_at.getTime()
          : null,
        exit_code: record.exit_code,
        output: record.output,
        output_bytes: record.output_bytes,
        output_truncated: record.output_bytes > Buffer.byteLength(record.output),
        error: record.error,
      };
    }),
  };
}

export async function listTasks(
  db: Queryable,
  input: TaskListInput,
  /** Only the tasks of this schedule. */
  of: { schedule?: string } = {},
): Promise<TaskList> {
  const limit = input.limit ?? 50;
  // `scheduled` is a filter over pending tasks, not a state of the table.
  const scheduled = input.status === 'scheduled';
  const rows = await db.query<TaskRow>(
    `SELECT id, ${SUMMARY_COLUMNS} FROM queue_tasks
     WHERE ($1::text IS NULL OR status = $1)
       AND (NOT $5::boolean OR run_at > now())
       AND ($6::text IS NULL OR metadata->>'schedule' = $6)
       AND ($2::text IS NULL OR app_name = $2)
       AND ($3::bigint IS NULL OR id < $3)
     ORDER BY id DESC
     LIMIT $4`,
    [
      scheduled ? 'pending' : (input.status ?? null),
      input.app ?? null,
      input.cursor ?? null,
      limit + 1,
      scheduled,
      of.schedule ?? null,
    ],
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    tasks: page.map(toSummary),
    next_cursor: rows.length > limit && last ? String(last.id) : null,
  };
}

/** The latest attempt's output as one text: each step's output after a `==> step <name>` line. */
export async function readTaskLog(
  db: Queryable,
  taskId: string,
): Promise<{ attempt: number; status: TaskStatus; text: string } | undefined> {
  const [row] = await db.query<{ id: number; attempts: number; status: TaskStatus }>(
    'SELECT id, attempts, status FROM queue_tasks WHERE task_id = $1',
    [taskId],
  );
  if (!row) return undefined;
  const steps = await db.query<{ name: string; output: string }>(
    'SELECT name, output FROM queue_task_steps WHERE task_id = $1 AND attempt = $2 ORDER BY position',
    [row.id, row.attempts],
  );
  return {
    attempt: row.attempts,
    status: row.status,
    text: steps.map((s) => `==> step ${s.name}\n${s.output}`).join(''),
  };
}

/** Who created a task (its `created_by`); undefined when there is no such task. */
export async function readTaskOwner(db: Queryable, taskId: string): Promise<string | undefined> {
  const [row] = await db.query<{ created_by: string }>(
    'SELECT created_by FROM queue_tasks WHERE task_id = $1',
    [taskId],
  );
  return row?.created_by;
}
