// Enqueue a Score spec: pick its workflow (its own, or the golden path's), store the task, wake
// the workers. The answer is sent only once the task is committed.
import { TRPCError } from '@trpc/server';
import { DEFAULT_GOLDEN_PATH, type EnqueueResponse, type TaskSource } from '../../shared/api.js';
import { goldenPathNameSchema, type ScoreSpec } from '../../shared/spec.js';
import { badRequest, toTRPCError } from '../errors.js';
import { insertTask } from '../queue/insertTask.js';
import type { NewTask } from '../queue/types.js';
import type { Principal, QueueServices } from './context.js';

export interface EnqueueRequest {
  spec: ScoreSpec;
  goldenPath?: string | undefined;
  principal: Principal;
  source: TaskSource;
  idempotencyKey?: string | undefined;
  priority?: number | undefined;
  /** Not started before this time (run later). */
  runAt?: Date | undefined;
}

export interface EnqueueResult {
  /** False when an idempotency key returned a task stored earlier. */
  created: boolean;
  response: EnqueueResponse;
}

export async function enqueueSpec(
  services: QueueServices,
  request: EnqueueRequest,
): Promise<EnqueueResult> {
  services.enqueueLimiter.take(request.principal.tokenId, request.principal.user);
  const task: NewTask = {
    ...resolveWorkflow(services, request.spec, request.goldenPath),
    metadata: { source: request.source, user: request.principal.user },
    createdBy: request.principal.user,
    priority: request.priority ?? 0,
    idempotencyKey: request.idempotencyKey,
    runAt: request.runAt,
  };
  let inserted;
  try {
    // Keyed and later enqueues go alone (the batch statement has neither); the rest share.
    inserted =
      task.idempotencyKey === undefined && task.runAt === undefined
        ? await services.inserter.insert(task)
        : await insertTask(services.database, task);
  } catch (error) {
    throw toTRPCError(error);
  }
  if (inserted.created) announceEnqueued(services, inserted, request.source, task.runAt);
  return {
    created: inserted.created,
    response: {
      message: `Golden path '${inserted.goldenPath}' enqueued successfully`,
      application: inserted.appName,
      task_id: inserted.taskId,
      status: 'enqueued',
    },
  };
}

/** The parts of a new task that come from its spec and golden path. */
export function resolveWorkflow(
  services: Pick<QueueServices, 'goldenPaths' | 'config'>,
  spec: ScoreSpec,
  goldenPathName = DEFAULT_GOLDEN_PATH,
): Pick<NewTask, 'appName' | 'goldenPath' | 'workflowName' | 'spec' | 'steps' | 'maxAttempts'> {
  if (!goldenPathNameSchema.safeParse(goldenPathName).success) {
    throw badRequest(
      `Invalid golden path name '${goldenPathName}': it must be a plain identifier (lower-case letters, digits, '-' and '_').`,
      [{ path: 'golden_path', message: 'must be a plain identifier' }],
    );
  }
  const goldenPath = services.goldenPaths.get(goldenPathName);
  if (!goldenPath) {
    throw new TRPCError({
      code: 'NOT_FOUND',
      message: `Unknown golden path '${goldenPathName}'; available: ${[...services.goldenPaths.keys()].join(', ')}`,
    });
  }
  const workflow = spec.workflow ?? goldenPath.workflow;
  const retries = workflow.retries ?? services.config.queue.defaultRetries;
  return {
    appName: spec.metadata.name,
    goldenPath: goldenPath.name,
    workflowName: `golden-path-${goldenPath.name}`,
    spec,
    steps: workflow.steps,
    maxAttempts: 1 + retries,
  };
}

/** Wakes the workers (or sets their timers, for a later task) and tells live subscribers. */
export function announceEnqueued(
  services: QueueServices,
  inserted: { taskId: string; appName: string },
  source: TaskSource,
  runAt: Date | undefined,
): void {
  if (runAt && runAt.getTime() > Date.now()) services.announceRunAt(runAt);
  else services.announceNewTask();
  services.metrics.taskEnqueued(source);
  services.events.publish({
    type: 'task.status',
    task_id: inserted.taskId,
    app_name: inserted.appName,
    status: 'pending',
    attempt: 0,
    error_message: null,
    at: new Date().toISOString(),
  });
}
