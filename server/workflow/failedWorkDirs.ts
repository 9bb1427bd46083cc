// Keeps the working directory of a failed attempt, so a retry `from=failed` can run the failed
// step again on the files the earlier steps left. A kept directory lives under
// <WORK_DIR>/failed/<task id> until the resumed attempt takes it over, the task is retried from
// the start or finishes otherwise, or FAILED_WORKDIR_HOURS pass; a sweep on every node removes
// the rest. The directory is on the node's disk: a resume finds it on nodes sharing WORK_DIR
// (one host, or shared storage); elsewhere the attempt runs from the first step.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Queryable } from '../db/database.js';
import type { ClaimedTask } from '../queue/types.js';

/** How often each node looks for kept directories to remove. */
const SWEEP_INTERVAL_MS = 60_000;

// The resumed attempt shows the steps it skipped as the failed attempt left them.
const COPY_EARLIER_STEPS = `
INSERT INTO queue_task_steps (task_id, attempt, position, name, type, status, started_at,
                              finished_at, exit_code, output, output_bytes, error)
SELECT task_id, $2, position, name, type, status, started_at, finished_at, exit_code, output,
       output_bytes, error
FROM queue_task_steps
WHERE task_id = $1 AND position < $3
  AND attempt = (SELECT max(attempt) FROM queue_task_steps WHERE task_id = $1 AND attempt < $2)
ON CONFLICT DO NOTHING`;

// Kept directories that nothing will resume from: the task is gone, finished without failing,
// or queued again from its first step.
const UNNEEDED = `
SELECT k.task_id FROM unnest($1::text[]) AS k(task_id)
LEFT JOIN queue_tasks t ON t.task_id = k.task_id
WHERE t.id IS NULL OR t.status IN ('completed', 'cancelled')
   OR (t.status = 'pending' AND t.resume_from IS NULL)`;

export interface ResumePoint {
  fromStep: number;
  workDir: string;
}

export class FailedWorkDirs {
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly root: string,
    /** 0: failed directories are removed like the others. */
    private readonly keepMs: number,
    private readonly log: Logger,
  ) {}

  private keptPath(taskId: string): string {
    return path.join(this.root, 'failed', taskId);
  }

  /**
   * For an attempt asked to start at a later step: takes over the kept directory and copies the
   * earlier steps' records into this attempt. Undefined (run every step, in a fresh directory)
   * when the task is not resumed or its directory is not on this node.
   */
  async resume(task: ClaimedTask): Promise<ResumePoint | undefined> {
    const fromStep = task.resumeFrom ?? 0;
    if (fromStep <= 0 || fromStep >= task.steps.length) return undefined;
    const workDir = path.join(this.root, `${task.taskId}-resumed-${task.attempt}`);
    try {
      await fs.rm(workDir, { recursive: true, force: true });
      await fs.rename(this.keptPath(task.taskId), workDir);
    } catch (error) {
      this.log.warn(
        { err: error, taskId: task.taskId },
        'the failed attempt left no working directory on this node; running every step',
      );
      return undefined;
    }
    await this.db.query(COPY_EARLIER_STEPS, [task.id, task.attempt, fromStep]);
    this.log.info({ taskId: task.taskId, fromStep }, 'resuming a task at its failed step');
    return { fromStep, workDir };
  }

  /** Keeps (or, when keeping is off, removes) the working directory of a failed attempt. */
  async keep(task: ClaimedTask, workDir: string): Promise<void> {
    if (this.keepMs <= 0) {
      await fs.rm(workDir, { recursive: true, force: true });
      return;
    }
    const kept = this.keptPath(task.taskId);
    await fs.mkdir(path.dirname(kept), { recursive: true });
    await fs.rm(kept, { recursive: true, force: true });
    await fs.rename(workDir, kept);
    const now = new Date();
    await fs.utimes(kept, now, now);
  }

  start(): void {
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    void this.sweep();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  /** Removes the kept directories that are too old or that nothing will resume from. */
  async sweep(): Promise<void> {
    const dir = path.join(this.root, 'failed');
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      return; // none kept yet
    }
    if (names.length === 0) return;
    try {
      const unneeded = new Set(
        (await this.db.query<{ task_id: string }>(UNNEEDED, [names])).map((r) => r.task_id),
      );
      const oldest = Date.now() - this.keepMs;
      for (const name of names) {
        const full = path.join(dir, name);
        const stat = await fs.stat(full).catch(() => undefined);
        if (!stat) continue;
        if (unneeded.has(name) || stat.mtimeMs < oldest) {
          await fs.rm(full, { recursive: true, force: true });
        }
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not sweep kept working directories');
    }
  }
}
