// Wire shapes of scheduling and control: run later, schedules, pauses, resume from the failed step.
import { z } from 'zod';
import { prioritySchema } from './api.js';
import { dnsLabelSchema, goldenPathNameSchema, scoreSpecSchema } from './spec.js';
import { taskSummarySchema } from './tasks.js';

/** The furthest ahead a task may be scheduled. */
export const MAX_RUN_LATER_MS = 366 * 24 * 3_600_000;

/** An RFC 3339 time with a zone (`Z` or `+02:00`). */
export const runAtSchema = z.iso.datetime({
  offset: true,
  message: "must be an RFC 3339 time with a zone, e.g. '2026-12-24T18:00:00Z'",
});

/** Seconds from now; decimals allowed. */
export const delaySecondsSchema = z
  .number('must be a number of seconds')
  .min(0, 'must not be negative')
  .max(MAX_RUN_LATER_MS / 1000, 'must be at most a year');

/** Application names follow `metadata.name` of a Score spec. */
export const appNameSchema = dnsLabelSchema;

export const pauseInputSchema = z.strictObject({
  /** One application; the whole cluster when absent. */
  app_name: appNameSchema.optional(),
});
export type PauseInput = z.infer<typeof pauseInputSchema>;

export const pauseSchema = z.object({
  /** `null`: the whole cluster. */
  app_name: z.string().nullable(),
  paused_by: z.string(),
  paused_at: z.iso.datetime(),
});
export type Pause = z.infer<typeof pauseSchema>;

export const pausesSchema = z.object({
  /** True when the whole cluster is paused. */
  cluster_paused: z.boolean(),
  pauses: z.array(pauseSchema),
});
export type Pauses = z.infer<typeof pausesSchema>;

export const scheduleNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(/^[A-Za-z0-9][\w.-]*$/, "must be letters, digits, '.', '_' and '-'");

export const scheduleInputSchema = z.strictObject({
  /** Five fields (minute precision) or six (the first is seconds). */
  cron: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  /** An IANA time zone the cron expression is read in. @default UTC */
  timezone: z.string().min(1).max(100).optional(),
  /** The Score spec to enqueue on every tick. The REST route also takes it as a YAML string. */
  spec: scoreSpecSchema,
  golden_path: goldenPathNameSchema.optional(),
  priority: prioritySchema.optional(),
});
export type ScheduleInput = z.infer<typeof scheduleInputSchema>;

export const scheduleSummarySchema = z.object({
  name: z.string(),
  cron: z.string(),
  timezone: z.string(),
  app_name: z.string(),
  golden_path: z.string(),
  priority: z.int(),
  paused: z.boolean(),
  next_run_at: z.iso.datetime().nullable(),
  last_run_at: z.iso.datetime().nullable(),
  created_by: z.string(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export type ScheduleSummary = z.infer<typeof scheduleSummarySchema>;

export const scheduleDetailSchema = scheduleSummarySchema.extend({
  spec: z.record(z.string(), z.unknown()),
  /** The next few ticks. */
  next_runs: z.array(z.iso.datetime()),
  /** Its latest tasks, newest first. */
  last_tasks: z.array(taskSummarySchema),
});
export type ScheduleDetail = z.infer<typeof scheduleDetailSchema>;

export const scheduleListSchema = z.object({ schedules: z.array(scheduleSummarySchema) });
export type ScheduleList = z.infer<typeof scheduleListSchema>;

export const scheduleActionSchema = z.object({ name: z.string(), message: z.string() });
export type ScheduleAction = z.infer<typeof scheduleActionSchema>;

/** Where a retry starts: the first step (default) or the first step that failed. */
export const RETRY_FROM = ['start', 'failed'] as const;
export const retryFromSchema = z.enum(RETRY_FROM);
export type RetryFrom = z.infer<typeof retryFromSchema>;

export const pauseActionSchema = z.object({
  app_name: z.string().nullable(),
  paused: z.boolean(),
  message: z.string(),
});
