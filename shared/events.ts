// Live updates: what the subscriptions (tRPC onStats / onTask) and GET /api/queue/events send.
import { z } from 'zod';
import { queueStatsSchema } from './api.js';
import { stepStatusSchema } from './tasks.js';
import { taskStatusSchema } from './taskStatus.js';

export const taskStatusEventSchema = z.object({
  type: z.literal('task.status'),
  task_id: z.string(),
  app_name: z.string(),
  status: taskStatusSchema,
  attempt: z.int(),
  error_message: z.string().nullable(),
  at: z.string(),
});

export const stepStartedEventSchema = z.object({
  type: z.literal('step.started'),
  task_id: z.string(),
  attempt: z.int(),
  position: z.int(),
  name: z.string(),
  at: z.string(),
});

export const stepFinishedEventSchema = z.object({
  type: z.literal('step.finished'),
  task_id: z.string(),
  attempt: z.int(),
  position: z.int(),
  name: z.string(),
  status: stepStatusSchema,
  exit_code: z.int().nullable(),
  duration_ms: z.int(),
  error: z.string().nullable(),
  at: z.string(),
});

export const stepOutputEventSchema = z.object({
  type: z.literal('step.output'),
  task_id: z.string(),
  attempt: z.int(),
  position: z.int(),
  /** Output as produced, in order; a very chatty step may have parts skipped (see `skipped`). */
  text: z.string(),
  /** Bytes of output left out of the live stream before this text (they are in the logs). */
  skipped: z.int(),
});

export const taskEventSchema = z.discriminatedUnion('type', [
  taskStatusEventSchema,
  stepStartedEventSchema,
  stepFinishedEventSchema,
  stepOutputEventSchema,
]);
export type TaskEvent = z.infer<typeof taskEventSchema>;

export const statsEventSchema = z.object({ type: z.literal('stats'), stats: queueStatsSchema });
export type StatsEvent = z.infer<typeof statsEventSchema>;
