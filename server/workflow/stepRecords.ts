// queue_task_steps rows: one per step of an attempt, written when the step starts and when it
// ends, so a task's progress can be read while it runs.
import type { Queryable } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { MAX_ERROR_CHARS, storedLine, storedText } from '../db/storedText.js';

export interface StepStart {
  taskRowId: number;
  attempt: number;
  position: number;
  name: string;
  type: string;
}

export type StepStatus = 'completed' | 'failed' | 'cancelled';

export async function recordStepStart(db: Queryable, step: StepStart): Promise<void> {
  await db.query(
    `INSERT INTO queue_task_steps (task_id, attempt, position, name, type, status)
     VALUES ($1, $2, $3, $4, $5, 'running')
     ON CONFLICT (task_id, attempt, position) DO UPDATE SET status = 'running', started_at = now()`,
    [step.taskRowId, step.attempt, step.position, step.name, step.type],
  );
}

/** The output so far of a step that still runs. */
export async function recordStepOutput(
  db: Queryable,
  step: Pick<StepStart, 'taskRowId' | 'attempt' | 'position'>,
  output: string,
  outputBytes: number,
): Promise<void> {
  await db.query(
    `UPDATE queue_task_steps SET output = $4, output_bytes = $5
     WHERE task_id = $1 AND attempt = $2 AND position = $3 AND status = 'running'`,
    [step.taskRowId, step.attempt, step.position, storedText(output), outputBytes],
  );
}

export async function recordStepEnd(
  db: Queryable,
  step: Pick<StepStart, 'taskRowId' | 'attempt' | 'position'>,
  end: {
    status: StepStatus;
    exitCode: number | null;
    output: string;
    outputBytes: number;
    error: string | null;
  },
): Promise<void> {
  const write = (output: string, error: string | null) =>
    db.query(
      `UPDATE queue_task_steps
       SET status = $4, finished_at = now(), exit_code = $5, output = $6, output_bytes = $7,
           error = $8
       WHERE task_id = $1 AND attempt = $2 AND position = $3`,
      [
        step.taskRowId,
        step.attempt,
        step.position,
        end.status,
        end.exitCode,
        storedText(output),
        end.outputBytes,
        error === null ? null : storedLine(error, MAX_ERROR_CHARS),
      ],
    );
  try {
    await write(end.output, end.error);
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw error;
    // Whatever the output holds, the step's end is recorded; its output is what is given up.
    await write('', `${end.error ?? ''} (its output could not be stored: ${String(error)})`.trim());
  }
}
