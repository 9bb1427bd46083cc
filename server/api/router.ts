// The tRPC router. Procedures are thin: the input is parsed by the shared schemas, the service
// does the work, the output is checked against the shared schemas.
import {
  activeTasksSchema,
  enqueueResponseSchema,
  enqueueSpecInputSchema,
  queueStatsSchema,
} from '../../shared/api.js';
import { enqueueSpec } from '../services/enqueueSpec.js';
import { getActiveTasks, getQueueStats } from '../services/queueReads.js';
import { readProcedure, router, writeProcedure } from './trpc.js';

export const appRouter = router({
  enqueueSpec: writeProcedure
    .input(enqueueSpecInputSchema)
    .output(enqueueResponseSchema)
    .mutation(async ({ ctx, input }) => {
      const result = await enqueueSpec(ctx.services, {
        spec: input.spec,
        goldenPath: input.goldenPath,
        idempotencyKey: input.idempotencyKey,
        priority: input.priority,
        principal: ctx.principal,
        source: ctx.source,
      });
      return result.response;
    }),
  queueStats: readProcedure
    .output(queueStatsSchema)
    .query(({ ctx }) => getQueueStats(ctx.services)),
  activeTasks: readProcedure
    .output(activeTasksSchema)
    .query(({ ctx }) => getActiveTasks(ctx.services)),
});

export type AppRouter = typeof appRouter;
