// The tRPC router. Procedures are thin: the input is parsed by the shared schemas, the service
// does the work, the output is checked against the shared schemas.
import { z } from 'zod';
import {
  activeTasksSchema,
  enqueueResponseSchema,
  enqueueSpecInputSchema,
  goldenPathListSchema,
  enqueueSpecsInputSchema,
  enqueueSpecsResponseSchema,
  MAX_BATCH_SPECS,
  queueStatsSchema,
} from '../../shared/api.js';
import {
  pauseActionSchema,
  pauseInputSchema,
  pausesSchema,
  retryFromSchema,
  scheduleActionSchema,
  scheduleDetailSchema,
  scheduleInputSchema,
  scheduleListSchema,
  scheduleNameSchema,
} from '../../shared/scheduling.js';
import {
  taskActionSchema,
  taskDetailSchema,
  taskIdSchema,
  taskListInputSchema,
  taskListSchema,
  taskLogsInputSchema,
  taskLogsSchema,
} from '../../shared/tasks.js';
import {
  deleteWebhookResponseSchema,
  putWebhookInputSchema,
  putWebhookResponseSchema,
  webhookListSchema,
  webhookNameSchema,
  webhookSchema,
} from '../../shared/webhooks.js';
import { enqueueSpec } from '../services/enqueueSpec.js';
import { deleteWebhook, getWebhook, listWebhooks, putWebhook } from '../services/webhooks.js';
import { listGoldenPaths } from '../services/goldenPathList.js';
import { enqueueSpecs } from '../services/enqueueSpecs.js';
import { streamStats, streamTaskEvents } from '../services/liveEvents.js';
import { listPauses, pauseQueue, resumeQueue } from '../services/queueControl.js';
import { getActiveTasks, getQueueStats } from '../services/queueReads.js';
import { resolveRunAt } from '../services/runLater.js';
import {
  getSchedule,
  listSchedules,
  pauseSchedule,
  putSchedule,
  removeSchedule,
} from '../services/schedules.js';
import { cancelTask, getTask, getTaskLogs, listTasks, retryTask } from '../services/taskActions.js';
import { checkSpecShape } from './specBody.js';
import {
  adminProcedure,
  authedReadProcedure,
  middleware,
  readProcedure,
  router,
  writeProcedure,
} from './trpc.js';

/**
 * The checks REST bodies get after parsing (prototype keys, NUL characters, depth), on the raw
 * tRPC input before its schema copies the object — a `__proto__` key would be gone by then.
 */
const specShapeGuard = middleware(async ({ getRawInput, next }) => {
  const spec = ((await getRawInput()) as { spec?: unknown } | null)?.spec;
  if (spec !== null && typeof spec === 'object' && !Array.isArray(spec)) checkSpecShape(spec);
  return next();
});

/** The same checks on every spec of a batch. */
const batchShapeGuard = middleware(async ({ getRawInput, next }) => {
  const specs = ((await getRawInput()) as { specs?: unknown } | null)?.specs;
  if (Array.isArray(specs) && specs.length <= MAX_BATCH_SPECS) {
    for (const item of specs as unknown[]) {
      const spec = (item as { spec?: unknown } | null)?.spec;
      if (spec !== null && typeof spec === 'object' && !Array.isArray(spec)) checkSpecShape(spec);
    }
  }
  return next();
});

const taskInput = z.strictObject({ taskId: taskIdSchema });
const scheduleInput = z.strictObject({ name: scheduleNameSchema });

export const appRouter = router({
  enqueueSpec: writeProcedure
    .use(specShapeGuard)
    .input(enqueueSpecInputSchema)
    .output(enqueueResponseSchema)
    .mutation(async ({ ctx, input }) => {
      const result = await enqueueSpec(ctx.services, {
        spec: input.spec,
        goldenPath: input.goldenPath,
        idempotencyKey: input.idempotencyKey,
        priority: input.priority,
        runAt: resolveRunAt(input),
        principal: ctx.principal,
        source: ctx.source,
      });
      return result.response;
    }),
  /** The golden paths a spec may run (developer tokens run only these), with their steps. */
  goldenPaths: readProcedure
    .output(goldenPathListSchema)
    .query(({ ctx }) => listGoldenPaths(ctx.services)),
  /** Up to MAX_BATCH_SPECS specs, all checked first, stored in one transaction, in order. */
  enqueueSpecs: writeProcedure
    .use(batchShapeGuard)
    .input(enqueueSpecsInputSchema)
    .output(enqueueSpecsResponseSchema)
    .mutation(({ ctx, input }) =>
      enqueueSpecs(ctx.services, {
        items: input.specs,
        principal: ctx.principal,
        source: ctx.source,
        goldenPathField: 'goldenPath',
      }),
    ),
  queueStats: readProcedure
    .output(queueStatsSchema)
    .query(({ ctx }) => getQueueStats(ctx.services)),
  activeTasks: readProcedure
    .output(activeTasksSchema)
    .query(({ ctx }) => getActiveTasks(ctx.services)),
  tasks: readProcedure
    .input(taskListInputSchema)
    .output(taskListSchema)
    .query(({ ctx, input }) => listTasks(ctx.services, input)),
  task: authedReadProcedure
    .input(taskInput)
    .output(taskDetailSchema)
    .query(({ ctx, input }) => getTask(ctx.services, input.taskId)),
  taskLogs: authedReadProcedure
    .input(taskLogsInputSchema)
    .output(taskLogsSchema)
    .query(({ ctx, input }) => getTaskLogs(ctx.services, input.taskId, input.offset)),
  cancelTask: writeProcedure
    .input(taskInput)
    .output(taskActionSchema)
    .mutation(({ ctx, input }) => cancelTask(ctx.services, input.taskId, ctx.principal)),
  retryTask: writeProcedure
    .input(taskInput.extend({ from: retryFromSchema.optional() }))
    .output(taskActionSchema)
    .mutation(({ ctx, input }) => retryTask(ctx.services, input.taskId, ctx.principal, input.from)),
  /** Webhooks (admin only: their URLs can carry credentials). */
  webhooks: adminProcedure.output(webhookListSchema).query(({ ctx }) => listWebhooks(ctx.services)),
  webhook: adminProcedure
    .input(z.strictObject({ name: webhookNameSchema }))
    .output(webhookSchema)
    .query(({ ctx, input }) => getWebhook(ctx.services, input.name)),
  putWebhook: adminProcedure
    .input(putWebhookInputSchema)
    .output(putWebhookResponseSchema)
    .mutation(({ ctx, input }) =>
      putWebhook(ctx.services, input.name, input.webhook, ctx.principal),
    ),
  deleteWebhook: adminProcedure
    .input(z.strictObject({ name: webhookNameSchema }))
    .output(deleteWebhookResponseSchema)
    .mutation(({ ctx, input }) => deleteWebhook(ctx.services, input.name)),
  pauseQueue: adminProcedure
    .input(pauseInputSchema.optional())
    .output(pauseActionSchema)
    .mutation(({ ctx, input }) => pauseQueue(ctx.services, input ?? {}, ctx.principal)),
  resumeQueue: adminProcedure
    .input(pauseInputSchema.optional())
    .output(pauseActionSchema)
    .mutation(({ ctx, input }) => resumeQueue(ctx.services, input ?? {}, ctx.principal)),
  pauses: readProcedure.output(pausesSchema).query(({ ctx }) => listPauses(ctx.services)),
  schedules: readProcedure
    .output(scheduleListSchema)
    .query(({ ctx }) => listSchedules(ctx.services)),
  /** Holds the spec, which may carry secrets: a token is needed. */
  schedule: authedReadProcedure
    .input(scheduleInput)
    .output(scheduleDetailSchema)
    .query(({ ctx, input }) => getSchedule(ctx.services, input.name)),
  putSchedule: adminProcedure
    .use(specShapeGuard)
    .input(scheduleInputSchema.extend({ name: scheduleNameSchema }))
    .output(scheduleDetailSchema)
    .mutation(async ({ ctx, input }) => {
      const { name, ...schedule } = input;
      return (await putSchedule(ctx.services, name, schedule, ctx.principal)).schedule;
    }),
  deleteSchedule: adminProcedure
    .input(scheduleInput)
    .output(scheduleActionSchema)
    .mutation(({ ctx, input }) => removeSchedule(ctx.services, input.name, ctx.principal)),
  pauseSchedule: adminProcedure
    .input(scheduleInput)
    .output(scheduleActionSchema)
    .mutation(({ ctx, input }) => pauseSchedule(ctx.services, input.name, true, ctx.principal)),
  resumeSchedule: adminProcedure
    .input(scheduleInput)
    .output(scheduleActionSchema)
    .mutation(({ ctx, input }) => pauseSchedule(ctx.services, input.name, false, ctx.principal)),
  /** The stats whenever they change (at most a few times a second), starting with the current. */
  onStats: readProcedure.subscription(({ ctx, signal }) => streamStats(ctx.services, signal)),
  /** A task's status changes, step starts and ends, and output as it is produced. */
  onTask: authedReadProcedure
    .input(taskInput)
    .subscription(({ ctx, input, signal }) => streamTaskEvents(ctx.services, input.taskId, signal)),
});

export type AppRouter = typeof appRouter;
