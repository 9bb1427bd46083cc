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

/** The most specs one batch enqueue takes. */
export const MAX_BATCH_SPECS = 1_000;

const batchSpecs = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .min(1, 'must hold at least one spec')
    .max(MAX_BATCH_SPECS, `must hold at most ${MAX_BATCH_SPECS} specs`);

/** One spec of a JSON batch, with what applies to it alone. */
export const batchSpecItemSchema = z.strictObject({
  spec: scoreSpecSchema,
  golden_path: goldenPathNameSchema.optional(),
  priority: prioritySchema.optional(),
  idempotency_key: idempotencyKeySchema.optional(),
});

/** POST /api/specs/batch as JSON: the wire names of the guide (snake_case). */
export const enqueueSpecsBodySchema = z.strictObject({ specs: batchSpecs(batchSpecItemSchema) });
export type EnqueueSpecsBody = z.infer<typeof enqueueSpecsBodySchema>;

/** tRPC `enqueueSpecs`: the items of `enqueueSpec`, up to MAX_BATCH_SPECS, stored together. */
export const enqueueSpecsInputSchema = z.strictObject({
  specs: batchSpecs(enqueueSpecInputSchema),
});
export type EnqueueSpecsInput = z.infer<typeof enqueueSpecsInputSchema>;

export const enqueuedTaskSchema = z.object({
  task_id: z.string(),
  application: z.string(),
  status: z.literal('enqueued'),
  /** False when an idempotency key returned a task stored earlier. */
  created: z.boolean(),
});
export type EnqueuedTask = z.infer<typeof enqueuedTaskSchema>;

/** The tasks of a batch, in the order of its specs. */
export const enqueueSpecsResponseSchema = z.object({ tasks: z.array(enqueuedTaskSchema) });
export type EnqueueSpecsResponse = z.infer<typeof enqueueSpecsResponseSchema>;

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

/**
 * What a token may do: `admin` everything, inline `workflow.steps` included; `developer` enqueue
 * golden paths, and cancel or retry its own tasks; `read` only read.
 */
export const ROLES = ['admin', 'developer', 'read'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/** GET /api/golden-paths: the golden paths a spec may run, with what their steps do. */
export const goldenPathSummarySchema = z.object({
  name: z.string(),
  description: z.string(),
  /** True for the one a spec runs when it names none. */
  default: z.boolean(),
  steps: z.array(
    z.object({ name: z.string(), type: z.string(), description: z.string().nullable() }),
  ),
});
export type GoldenPathSummary = z.infer<typeof goldenPathSummarySchema>;

export const goldenPathListSchema = z.object({
  count: z.int(),
  golden_paths: z.array(goldenPathSummarySchema),
});
export type GoldenPathList = z.infer<typeof goldenPathListSchema>;

export const taskMetadataSchema = z.object({
  source: taskSourceSchema,
  user: z.string(),
  /** The role of the token that enqueued the task (absent on tasks older than roles). */
  role: roleSchema.optional(),
  /** The schedule that enqueued the task, for tasks of a schedule. */
  schedule: z.string().optional(),
  /** The tick of that schedule the task is for. */
  scheduled_for: z.iso.datetime().optional(),
});
export type TaskMetadata = z.infer<typeof taskMetadataSchema>;

/** The metadata fields of the wire shape, whatever else a stored row holds. */
export function pickMetadata(metadata: TaskMetadata): TaskMetadata {
  const { source, user, role, schedule, scheduled_for } = metadata;
  return {
    source,
    user,
    ...(role === undefined ? {} : { role }),
    ...(schedule === undefined ? {} : { schedule, scheduled_for }),
  };
}

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
/** GET /livez: the process answers; it never asks the database. */
export const livenessSchema = z.object({ status: z.literal('ok') });
export type Liveness = z.infer<typeof livenessSchema>;

export const readinessSchema = z.object({
  ready: z.boolean(),
  database: healthSchema.shape.database,
});
export type Readiness = z.infer<typeof readinessSchema>;
