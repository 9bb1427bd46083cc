// Wire shapes of a single task: its summary in lists, its full record with steps and attempts,
// its logs, and the answers of cancel and retry.
import { z } from 'zod';
import { taskMetadataSchema } from './api.js';
import { taskStatusSchema, type TaskStatus } from './taskStatus.js';

export const taskIdSchema = z
  .string()
  .regex(/^task-\d{1,20}-\d{1,20}$/, "must be a task id like 'task-1759770010965128000-10'");

export const STEP_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export const stepStatusSchema = z.enum(STEP_STATUSES);

const timestamp = z.iso.datetime();

export const taskSummarySchema = z.object({
  id: z.string(),
  app_name: z.string(),
  workflow_name: z.string(),
  status: taskStatusSchema,
  priority: z.int(),
  attempts: z.int(),
  enqueued_at: timestamp,
  started_at: timestamp.nullable(),
  completed_at: timestamp.nullable(),
  error_message: z.string().nullable(),
  metadata: taskMetadataSchema,
  /** Not started before this time (run later, retry backoff). */
  run_at: timestamp,
});
export type TaskSummary = z.infer<typeof taskSummarySchema>;

export const taskStepSchema = z.object({
  position: z.int(),
  name: z.string(),
  type: z.string(),
  /** `pending` for a step of the latest attempt that has not started (yet, or ever). */
  status: stepStatusSchema,
  attempt: z.int().nullable(),
  started_at: timestamp.nullable(),
  finished_at: timestamp.nullable(),
  duration_ms: z.int().nullable(),
  exit_code: z.int().nullable(),
  /** The step's output (the last STEP_OUTPUT_LIMIT bytes); grows while the step runs. */
  output: z.string(),
  output_bytes: z.int(),
  output_truncated: z.boolean(),
  error: z.string().nullable(),
});
export type TaskStep = z.infer<typeof taskStepSchema>;

export const attemptErrorSchema = z.object({
  attempt: z.int(),
  error: z.string(),
  at: z.string(),
  node: z.string().nullable(),
});

export const taskDetailSchema = taskSummarySchema.extend({
  golden_path: z.string(),
  max_attempts: z.int(),
  locked_by: z.string().nullable(),
  lease_expires_at: timestamp.nullable(),
  cancel_requested_at: timestamp.nullable(),
  /** Every failed attempt's error, oldest first. */
  errors: z.array(attemptErrorSchema),
  /** The workflow's steps, with what the latest attempt did of each. */
  steps: z.array(taskStepSchema),
  spec: z.record(z.string(), z.unknown()),
});
export type TaskDetail = z.infer<typeof taskDetailSchema>;

export const TASK_LIST_MAX = 200;

/** `scheduled`: pending tasks whose run_at is still ahead (a filter, not a state of its own). */
export const taskListStatusSchema = z.enum([...taskStatusSchema.options, 'scheduled']);
export type TaskListStatus = z.infer<typeof taskListStatusSchema>;

export const taskListInputSchema = z.strictObject({
  status: taskListStatusSchema.optional(),
  app: z.string().min(1).max(63).optional(),
  /** @default 50 */
  limit: z.int().min(1).max(TASK_LIST_MAX).optional(),
  /** `next_cursor` of the previous page. */
  cursor: z
    .string()
    .regex(/^\d{1,20}$/, 'must be a next_cursor from a previous page')
    .optional(),
});
export type TaskListInput = z.infer<typeof taskListInputSchema>;

export const taskListSchema = z.object({
  tasks: z.array(taskSummarySchema),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: z.string().nullable(),
});
export type TaskList = z.infer<typeof taskListSchema>;

export const taskLogsInputSchema = z.strictObject({
  taskId: taskIdSchema,
  /** Characters of the log already read. @default 0 */
  offset: z.int().min(0).optional(),
});

export const taskLogsSchema = z.object({
  id: z.string(),
  attempt: z.int(),
  status: taskStatusSchema,
  offset: z.int(),
  /** Where to continue from. */
  next_offset: z.int(),
  /** The log from `offset` on: each step's output after a `==> step <name>` line. */
  text: z.string(),
  /** True once the task has finished: the log will not grow any more. */
  complete: z.boolean(),
});
export type TaskLogs = z.infer<typeof taskLogsSchema>;

export const taskActionSchema = z.object({
  id: z.string(),
  status: taskStatusSchema,
  message: z.string(),
});
export type TaskAction = z.infer<typeof taskActionSchema>;

export const CANCELLABLE_STATUSES = ['pending', 'running'] as const satisfies readonly TaskStatus[];
export const RETRYABLE_STATUSES = ['failed', 'cancelled'] as const satisfies readonly TaskStatus[];
