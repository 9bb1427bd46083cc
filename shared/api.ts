// Wire shapes of the API, as the demo guide documents them (snake_case JSON).
import { z } from 'zod';
import { goldenPathNameSchema, scoreSpecSchema } from './spec.js';
import { taskStatusSchema } from './taskStatus.js';

export const DEFAULT_GOLDEN_PATH = 'deploy-app';

/** `schedule`: enqueued by a stored schedule on one of its ticks. */
export const TASK_SOURCES = ['api', 'trpc', 'schedule'] as const;
export const taskSourceSchema = z.enum(TASK_SOURCES);
export type TaskSource = z.infer<typeof taskSourceSchema>;

export const idempotencyKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const prioritySchema = z
  .int('must be a whole number')
  .min(-1000, 'must be at least -1000')
  .max(1000, 'must be at most 1000');

export const enqueueSpecInputSchema = z.strictObject({
  spec: scoreSpecSchema,
  /** A shipped golden path; `deploy-app` when absent. */
  goldenPath: goldenPathNameSchema.optional(),
  /** The same key from the same user returns the same task for 24 hours. */
  idempotencyKey: idempotencyKeySchema.optional(),
  /** Higher runs first; FIFO within a priority. @default 0 */
  priority: prioritySchema.optional(),
  /** Not started before this RFC 3339 time (a time in the past runs at once). */
  runAt: z.iso
    .datetime({
      offset: true,
      message: "must be an RFC 3339 time with a zone, e.g. '2026-12-24T18:00:00Z'",
    })
    .optional(),
  /** Not started before this many seconds from now. Not together with `runAt`. */
  delaySeconds: z.number('must be a number of seconds').min(0, 'must not be negative').optional(),
});
export type EnqueueSpecInput = z.infer<typeof enqueueSpecInputSchema>;

export const enqueueResponseSchema = z.object({
  message: z.string(),
  application: z.string(),
  task_id: z.string(),
  status: z.literal('enqueued'),
});
export type EnqueueResponse = z.infer<typeof enqueueResponseSchema>;

export const queueStatsSchema = z.object({
  active_tasks: z.int(),
  avg_execution_time_ms: z.int(),
  avg_queue_time_ms: z.int(),
  queue_size: z.int(),
  tasks_completed: z.int(),
  tasks_enqueued: z.int(),
  tasks_failed: z.int(),
  workers: z.int(),
});
export type QueueStats = z.infer<typeof queueStatsSchema>;

export const taskMetadataSchema = z.object({
  source: taskSourceSchema,
  user: z.string(),
  /** The schedule that enqueued the task, for tasks of a schedule. */
  schedule: z.string().optional(),
  /** The tick of that schedule the task is for. */
  scheduled_for: z.iso.datetime().optional(),
});
export type TaskMetadata = z.infer<typeof taskMetadataSchema>;

export const activeTaskSchema = z.object({
  id: z.string(),
  app_name: z.string(),
  workflow_name: z.string(),
  status: taskStatusSchema,
  enqueued_at: z.iso.datetime(),
  started_at: z.iso.datetime().nullable(),
  metadata: taskMetadataSchema,
});
export type ActiveTask = z.infer<typeof activeTaskSchema>;

export const activeTasksSchema = z.object({
  count: z.int(),
  tasks: z.array(activeTaskSchema),
});
export type ActiveTasks = z.infer<typeof activeTasksSchema>;

export const healthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  database: z.object({
    kind: z.enum(['postgres', 'pglite']),
    reachable: z.boolean(),
    latency_ms: z.number().nullable(),
  }),
});
export type Health = z.infer<typeof healthSchema>;

/** GET /ready: up, and neither starting nor draining. */
export const readinessSchema = z.object({
  ready: z.boolean(),
  database: healthSchema.shape.database,
});
export type Readiness = z.infer<typeof readinessSchema>;
