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

// One upsert for many steps. A step that started and ended before its row was sent is written
// once, whole; an end whose start row is already there replaces it.
const WRITE = `
INSERT INTO queue_task_steps AS s
  (task_id, attempt, position, name, type, status, started_at, finished_at, exit_code, output,
   output_bytes, error)
SELECT v.task_id, v.attempt, v.position, v.name, v.type, v.status,
       now() - v.started_ago * interval '1 millisecond',
       now() - v.ended_ago * interval '1 millisecond',
       v.exit_code, v.output, v.output_bytes, v.error
FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::float8[],
            $8::float8[], $9::int[], $10::text[], $11::bigint[], $12::text[])
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

/** Writes these steps' rows in one statement (one record per step). */
export async function writeStepRecords(
  db: Queryable,
  records: readonly StepRecord[],
): Promise<void> {
  if (records.length === 0) return;
  const column = <T>(pick: (r: StepRecord) => T) => records.map(pick);
  await db.query(
    WRITE,
    [
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
    ],
    { name: 'write_step_records' },
  );
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
