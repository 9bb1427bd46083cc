// queue_task_steps rows: one per step of an attempt, written when the step starts and when it
// ends (stepRecordBatcher.ts shares the statements), so a task's progress can be read while it
// runs.
import type { Queryable } from '../db/database.js';
import { MAX_ERROR_CHARS, storedLine, storedText } from '../db/storedText.js';

/** One step of one attempt, as the batcher (stepRecordBatcher.ts) writes it. */
export interface StepKey {
  taskRowId: number;
  attempt: number;
  position: number;
}

export interface StepStart extends StepKey {
  name: string;
  type: string;
}

export type StepStatus = 'completed' | 'failed' | 'cancelled';

export interface StepEnd {
  status: StepStatus;
  exitCode: number | null;
  output: string;
  outputBytes: number;
  error: string | null;
}

/**
 * A step's row as known now: started (`end` undefined) or ended. Times are milliseconds before
 * the statement runs, so they are on the database's clock however long the row waited here.
 */
export interface StepRecord extends StepStart {
  startedAgoMs: number;
  end?: (StepEnd & { endedAgoMs: number }) | undefined;
}

/** A step's whole row, handed over to be written by another statement: its task's result. */
export interface CarriedStepRow {
  /** The row as of now (its times count back from the statement about to be sent). */
  record(): StepRecord;
  /** Writes it on its own, for a statement that carried it and failed. Never rejects. */
  writeApart(): Promise<void>;
}

/**
 * One upsert for many steps, its twelve arrays from `$p` on (`stepRecordsParams`), so the
 * statement that stores a task's result can carry its last step's row (finishTasks.ts). A step
 * that started and ended before its row was sent is written once, whole; an end whose start row
 * is already there replaces it.
 */
export function stepRecordsUpsert(p: number): string {
  const $ = (i: number) => `$${p + i}`;
  return `
INSERT INTO queue_task_steps AS s
  (task_id, attempt, position, name, type, status, started_at, finished_at, exit_code, output,
   output_bytes, error)
SELECT v.task_id, v.attempt, v.position, v.name, v.type, v.status,
       now() - v.started_ago * interval '1 millisecond',
       now() - v.ended_ago * interval '1 millisecond',
       v.exit_code, v.output, v.output_bytes, v.error
FROM unnest(${$(0)}::bigint[], ${$(1)}::int[], ${$(2)}::int[], ${$(3)}::text[], ${$(4)}::text[],
            ${$(5)}::text[], ${$(6)}::float8[], ${$(7)}::float8[], ${$(8)}::int[], ${$(9)}::text[],
            ${$(10)}::bigint[], ${$(11)}::text[])
  AS v(task_id, attempt, position, name, type, status, started_ago, ended_ago, exit_code, output,
       output_bytes, error)
ON CONFLICT (task_id, attempt, position) DO UPDATE
SET status = excluded.status,
    started_at = CASE WHEN excluded.finished_at IS NULL THEN excluded.started_at ELSE s.started_at END,
    finished_at = excluded.finished_at, exit_code = excluded.exit_code,
    output = CASE WHEN excluded.finished_at IS NULL THEN s.output ELSE excluded.output END,
    output_bytes = CASE WHEN excluded.finished_at IS NULL THEN s.output_bytes
      ELSE excluded.output_bytes END,
    error = excluded.error`;
}

const WRITE = stepRecordsUpsert(1);

/** The parameters of `stepRecordsUpsert` for these rows (one record per step). */
export function stepRecordsParams(records: readonly StepRecord[]): unknown[] {
  const column = <T>(pick: (r: StepRecord) => T) => records.map(pick);
  return [
    column((r) => r.taskRowId),
    column((r) => r.attempt),
    column((r) => r.position),
    column((r) => r.name),
    column((r) => r.type),
    column((r) => r.end?.status ?? 'running'),
    column((r) => r.startedAgoMs),
    column((r) => r.end?.endedAgoMs ?? null),
    column((r) => r.end?.exitCode ?? null),
    column((r) => storedText(r.end?.output ?? '')),
    column((r) => r.end?.outputBytes ?? 0),
    column((r) => (r.end?.error == null ? null : storedLine(r.end.error, MAX_ERROR_CHARS))),
  ];
}

/** Writes these steps' rows in one statement (one record per step). */
export async function writeStepRecords(
  db: Queryable,
  records: readonly StepRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await db.query(WRITE, stepRecordsParams(records), { name: 'write_step_records' });
}

/** The output so far of a step that still runs. */
export async function recordStepOutput(
  db: Queryable,
  step: StepKey,
  output: string,
  outputBytes: number,
): Promise<void> {
  await db.query(
    `UPDATE queue_task_steps SET output = $4, output_bytes = $5
     WHERE task_id = $1 AND attempt = $2 AND position = $3 AND status = 'running'`,
    [step.taskRowId, step.attempt, step.position, storedText(output), outputBytes],
    { name: 'record_step_output' },
  );
}
