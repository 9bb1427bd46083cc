// The statements behind stored schedules: store, read, pause, remove, and take a due tick.
// Taking a tick locks the schedule's row only if it is still due (SKIP LOCKED, and PostgreSQL
// re-checks the condition on the latest row version), moves next_run_at on and inserts the task
// in the same transaction: one task per tick, however many nodes look at once.
import type { Database, Queryable } from '../db/database.js';
import { insertTask, type InsertedTask } from './insertTask.js';
import type { NewTask } from './types.js';

export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  spec: Record<string, unknown> & { metadata: { name: string } };
  golden_path: string;
  priority: number;
  paused: boolean;
  next_run_at: Date;
  last_run_at: Date | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export interface ScheduleValues {
  name: string;
  cron: string;
  timezone: string;
  spec: unknown;
  goldenPath: string;
  priority: number;
  nextRunAt: Date;
  user: string;
}

const COLUMNS = `name, cron, timezone, spec, golden_path, priority, paused, next_run_at, last_run_at,
  created_by, created_at, updated_at`;

/** Creates or replaces a schedule (keeping whether it is paused); true when it is new. */
export async function upsertSchedule(db: Queryable, v: ScheduleValues): Promise<boolean> {
  const [row] = await db.query<{ created: boolean }>(
    `INSERT INTO queue_schedules (name, cron, timezone, spec, golden_path, priority, next_run_at,
                                  created_by)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
     ON CONFLICT (name) DO UPDATE SET cron = EXCLUDED.cron, timezone = EXCLUDED.timezone,
       spec = EXCLUDED.spec, golden_path = EXCLUDED.golden_path, priority = EXCLUDED.priority,
       next_run_at = EXCLUDED.next_run_at, updated_at = now()
     RETURNING (xmax = 0) AS created`,
    [
      v.name,
      v.cron,
      v.timezone,
      JSON.stringify(v.spec),
      v.goldenPath,
      v.priority,
      v.nextRunAt,
      v.user,
    ],
  );
  return row?.created ?? false;
}

export function readSchedules(db: Queryable): Promise<ScheduleRow[]> {
  return db.query<ScheduleRow>(`SELECT ${COLUMNS} FROM queue_schedules ORDER BY name`);
}

export async function readSchedule(db: Queryable, name: string): Promise<ScheduleRow | undefined> {
  const [row] = await db.query<ScheduleRow>(
    `SELECT ${COLUMNS} FROM queue_schedules WHERE name = $1`,
    [name],
  );
  return row;
}

export async function deleteSchedule(db: Queryable, name: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM queue_schedules WHERE name = $1 RETURNING name', [name]);
  return rows.length > 0;
}

/**
 * Pauses or resumes a schedule. A resumed schedule starts from `nextRunAt` (its next tick from
 * now): the ticks it missed while paused are not made up.
 */
export async function setSchedulePaused(
  db: Queryable,
  name: string,
  paused: boolean,
  nextRunAt: Date | undefined,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE queue_schedules SET paused = $2, next_run_at = coalesce($3, next_run_at),
       updated_at = now()
     WHERE name = $1 RETURNING name`,
    [name, paused, nextRunAt ?? null],
  );
  return rows.length > 0;
}

/** The earliest next_run_at of the active schedules, in Unix ms. */
export async function readNextDue(db: Queryable): Promise<number | undefined> {
  const [row] = await db.query<{ at: number | null }>(
    `SELECT (extract(epoch FROM min(next_run_at)) * 1000)::float8 AS at
     FROM queue_schedules WHERE NOT paused`,
  );
  return row?.at ?? undefined;
}

export async function readDueNames(db: Queryable, limit: number): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT name FROM queue_schedules WHERE NOT paused AND next_run_at <= now()
     ORDER BY next_run_at LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.name);
}

/**
 * Takes the due tick of schedule `name`, if no other node has: `plan` turns the row into the
 * task to insert and the next tick; both are written in one transaction. Undefined when the
 * schedule is not due (any more), paused, gone, or being taken by another node.
 */
export async function takeTick(
  db: Database,
  name: string,
  plan: (row: ScheduleRow) => { task: NewTask; next: Date | null; tick: Date },
): Promise<{ inserted: InsertedTask; task: NewTask } | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<ScheduleRow>(
      `SELECT ${COLUMNS} FROM queue_schedules
       WHERE name = $1 AND NOT paused AND next_run_at <= now()
       FOR UPDATE SKIP LOCKED`,
      [name],
    );
    if (!row) return undefined;
    const { task, next, tick } = plan(row);
    const inserted = await insertTask(tx, task);
    // A rule that never fires again leaves the schedule paused.
    await tx.query(
      `UPDATE queue_schedules SET next_run_at = coalesce($2, next_run_at), last_run_at = $3,
         paused = paused OR $2 IS NULL
       WHERE name = $1`,
      [name, next, tick],
    );
    return { inserted, task };
  });
}
