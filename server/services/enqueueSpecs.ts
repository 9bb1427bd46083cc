// Batch enqueue: up to MAX_BATCH_SPECS specs checked first (every problem named by its index and
// field, nothing stored when there is one), then stored in one transaction, in order.
import {
  DEFAULT_GOLDEN_PATH,
  MAX_BATCH_SPECS,
  type EnqueueSpecsResponse,
  type TaskSource,
} from '../../shared/api.js';
import type { FieldProblem } from '../../shared/errors.js';
import { goldenPathNameSchema, type ScoreSpec } from '../../shared/spec.js';
import { TRPCError } from '@trpc/server';
import { badRequest, toTRPCError } from '../errors.js';
import type { Queryable } from '../db/database.js';
import { insertTask, insertTasks, type InsertedTask } from '../queue/insertTask.js';
import type { NewTask } from '../queue/types.js';
import type { GoldenPath } from '../workflow/goldenPaths.js';
import type { Principal, QueueServices } from './context.js';
import { newTask } from './enqueueSpec.js';

export interface BatchItem {
  spec: ScoreSpec;
  goldenPath?: string | undefined;
  priority?: number | undefined;
  idempotencyKey?: string | undefined;
  /** Where the item is in the request, for problems. @default `specs[<its index>]` */
  at?: string;
}

export interface EnqueueBatchRequest {
  items: readonly BatchItem[];
  /**
   * Problems the caller found while parsing the request (items that did not parse are left out of
   * `items`): reported together with the ones found here.
   */
  problems?: readonly FieldProblem[];
  /** Applies to the items that name none (REST: the query's `golden_path`). */
  goldenPath?: string | undefined;
  /** Applies to the items that give none (REST: the query's `priority`). */
  priority?: number | undefined;
  principal: Principal;
  source: TaskSource;
  /** How an item's golden path field is named in problems. @default 'golden_path' */
  goldenPathField?: string;
}

export async function enqueueSpecs(
  services: QueueServices,
  request: EnqueueBatchRequest,
): Promise<EnqueueSpecsResponse> {
  const { items, principal, source } = request;
  if (principal.role === 'developer') {
    const inline = items.flatMap((item, index) =>
      item.spec.workflow === undefined ? [] : [item.at ?? `specs[${index}]`],
    );
    if (inline.length > 0) {
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `User '${principal.user}' has a developer token, which runs golden paths only: ${inline.join(', ')} carr${inline.length === 1 ? 'ies' : 'y'} an inline workflow (workflow.steps), which needs an admin token.`,
      });
    }
  }
  const problems: FieldProblem[] = [...(request.problems ?? [])];
  if (problems.length === 0 && (items.length === 0 || items.length > MAX_BATCH_SPECS)) {
    throw badRequest(`A batch holds 1 to ${MAX_BATCH_SPECS} specs, not ${items.length}.`, [
      { path: 'specs', message: `must hold 1 to ${MAX_BATCH_SPECS} specs` },
    ]);
  }
  const field = request.goldenPathField ?? 'golden_path';
  const resolve = (name: string, path: string): GoldenPath | undefined => {
    if (!goldenPathNameSchema.safeParse(name).success) {
      problems.push({ path, message: 'must be a plain identifier' });
      return undefined;
    }
    const found = services.goldenPaths.get(name);
    if (!found) {
      problems.push({
        path,
        message: `unknown golden path '${name}'; available: ${[...services.goldenPaths.keys()].join(', ')}`,
      });
    }
    return found;
  };
  // The batch-wide golden path is checked once, not once per spec.
  const shared = resolve(request.goldenPath ?? DEFAULT_GOLDEN_PATH, 'golden_path');
  const tasks: NewTask[] = [];
  items.forEach((item, index) => {
    const goldenPath =
      item.goldenPath === undefined
        ? shared
        : resolve(item.goldenPath, `${item.at ?? `specs[${index}]`}.${field}`);
    if (!goldenPath) return;
    tasks.push(
      newTask(
        services,
        {
          spec: item.spec,
          principal,
          source,
          priority: item.priority ?? request.priority,
          idempotencyKey: item.idempotencyKey,
        },
        goldenPath,
      ),
    );
  });
  if (problems.length > 0) {
    throw badRequest(`Invalid batch, nothing stored: ${describeProblems(problems)}`, problems);
  }
  services.enqueueLimiter.take(principal.tokenId, principal.user, tasks.length);

  let inserted: InsertedTask[];
  try {
    // Without idempotency keys the batch is one INSERT, atomic on its own: no BEGIN and COMMIT
    // round trips around it.
    inserted = tasks.some((t) => t.idempotencyKey !== undefined)
      ? await services.database.transaction((tx) => insertInOrder(tx, tasks))
      : await insertTasks(services.database, tasks);
  } catch (error) {
    throw toTRPCError(error);
  }

  services.lifecycle.enqueued(
    inserted.filter((t) => t.created),
    source,
  );
  return {
    tasks: inserted.map((t) => ({
      task_id: t.taskId,
      application: t.appName,
      status: 'enqueued' as const,
      created: t.created,
    })),
  };
}

/**
 * Runs of tasks without an idempotency key go in one multi-row INSERT each; a keyed task goes
 * alone (it may return an earlier task). Runs keep the batch's order, so ids (FIFO within a
 * priority) follow it.
 */
async function insertInOrder(tx: Queryable, tasks: readonly NewTask[]): Promise<InsertedTask[]> {
  const out: InsertedTask[] = [];
  let run: NewTask[] = [];
  const flush = async () => {
    if (run.length > 0) out.push(...(await insertTasks(tx, run)));
    run = [];
  };
  for (const task of tasks) {
    if (task.idempotencyKey === undefined) {
      run.push(task);
      continue;
    }
    await flush();
    out.push(await insertTask(tx, task));
  }
  await flush();
  return out;
}

/** The first few problems in the message; `details` lists them all. */
export function describeProblems(problems: readonly FieldProblem[]): string {
  const shown = problems.slice(0, 5).map((p) => `${p.path}: ${p.message}`);
  const more = problems.length > 5 ? `; and ${problems.length - 5} more (see details)` : '';
  return `${problems.length} problem${problems.length === 1 ? '' : 's'}: ${shown.join('; ')}${more}`;
}
