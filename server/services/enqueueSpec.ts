// Enqueue a Score spec: pick its workflow (its own, or the golden path's), store the task, wake
// the workers. The answer is sent only once the task is committed.
import { TRPCError } from '@trpc/server';
import { DEFAULT_GOLDEN_PATH, type EnqueueResponse, type TaskSource } from '../../shared/api.js';
import { goldenPathNameSchema, type ScoreSpec } from '../../shared/spec.js';
import { badRequest, toTRPCError } from '../errors.js';
import { insertTask, type InsertedTask } from '../queue/insertTask.js';
import type { NewTask } from '../queue/types.js';
import type { GoldenPath } from '../workflow/goldenPaths.js';
import type { Principal, QueueServices } from './context.js';

export interface EnqueueRequest {
  spec: ScoreSpec;
  goldenPath?: string | undefined;
  principal: Principal;
  source: TaskSource;
  idempotencyKey?: string | undefined;
  priority?: number | undefined;
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
  const { principal } = request;
  if (principal.role === 'developer' && request.spec.workflow !== undefined) {
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `User '${principal.user}' has a developer token, which runs golden paths only: a spec with its own inline workflow (workflow.steps) needs an admin token. Remove the spec's workflow section and pick a golden path (golden_path; list: GET /api/golden-paths).`,
    });
  }
  services.enqueueLimiter.take(principal.tokenId, principal.user);
  const goldenPathName = request.goldenPath ?? DEFAULT_GOLDEN_PATH;
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
  let inserted;
  try {
    const task = newTask(services, request, goldenPath);
    // Keyed enqueues go alone (they look for an earlier task); the rest share statements.
    inserted =
      task.idempotencyKey === undefined
        ? await services.inserter.insert(task)
        : await insertTask(services.database, task);
  } catch (error) {
    throw toTRPCError(error);
  }
  if (inserted.created) {
    services.announceNewTask();
    services.metrics.taskEnqueued(request.source);
    publishPending(services, inserted, new Date().toISOString());
  }
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

/** The row a spec becomes: its own workflow, or the golden path's. */
export function newTask(
  services: QueueServices,
  request: Omit<EnqueueRequest, 'goldenPath'>,
  goldenPath: GoldenPath,
): NewTask {
  const workflow = request.spec.workflow ?? goldenPath.workflow;
  const retries = workflow.retries ?? services.config.queue.defaultRetries;
  return {
    appName: request.spec.metadata.name,
    goldenPath: goldenPath.name,
    workflowName: `golden-path-${goldenPath.name}`,
    spec: request.spec,
    steps: workflow.steps,
    metadata: {
      source: request.source,
      user: request.principal.user,
      role: request.principal.role,
    },
    createdBy: request.principal.user,
    priority: request.priority ?? 0,
    maxAttempts: 1 + retries,
    idempotencyKey: request.idempotencyKey,
  };
}

/** Tells live subscribers a task is waiting. */
export function publishPending(services: QueueServices, task: InsertedTask, at: string): void {
  services.events.publish({
    type: 'task.status',
    task_id: task.taskId,
    app_name: task.appName,
    status: 'pending',
    attempt: 0,
    error_message: null,
    at,
  });
}
