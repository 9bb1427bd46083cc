// Live streams for subscribers: the stats as they change, and one task's events until it ends.
// Both stop when the caller goes away or the node shuts down.
import { taskStatusEvent } from '../queue/taskLifecycle.js';
import type { QueueStats } from '../../shared/api.js';
import type { TaskEvent } from '../../shared/events.js';
import { isFinished } from '../../shared/taskStatus.js';
import { iterate } from '../events/asyncQueue.js';
import { readTask } from '../queue/readTasks.js';
import { getTask } from './taskActions.js';
import type { QueueServices } from './context.js';

function until(services: QueueServices, signal: AbortSignal | undefined): AbortSignal {
  return signal ? AbortSignal.any([signal, services.shutdown]) : services.shutdown;
}

export function streamStats(
  services: QueueServices,
  signal?: AbortSignal,
): AsyncIterable<QueueStats> {
  return iterate<QueueStats>((push) => services.statsFeed.subscribe(push), until(services, signal));
}

/** Every task event of every task (without output unless `withOutput`). */
export function streamAllTaskEvents(
  services: QueueServices,
  options: { withOutput: boolean },
  signal?: AbortSignal,
): AsyncIterable<TaskEvent> {
  return iterate<TaskEvent>(
    (push) =>
      services.events.subscribe((event) => {
        if (event.type !== 'step.output' || options.withOutput) push(event);
      }),
    until(services, signal),
  );
}

/**
 * One task's events: first its current status, then each status change, step start and end, and
 * output as produced, in order; the stream ends once the task has finished.
 */
export async function* streamTaskEvents(
  services: QueueServices,
  taskId: string,
  signal?: AbortSignal,
): AsyncGenerator<TaskEvent> {
  const stop = until(services, signal);
  // Subscribe before reading, so nothing that happens in between is missed.
  const events = iterate<TaskEvent>(
    (push) =>
      services.events.subscribe((event) => {
        if (event.task_id === taskId) push(event);
      }),
    stop,
  )[Symbol.asyncIterator]();
  try {
    const task = await getTask(services, taskId);
    yield taskStatusEvent(
      { taskId: task.id, appName: task.app_name, attempt: task.attempts },
      task.status,
      task.error_message,
    );
    if (isFinished(task.status)) return;
    for (;;) {
      const next = await events.next();
      if (next.done) return;
      yield next.value;
      if (next.value.type === 'task.status' && isFinished(next.value.status)) {
        // A failed attempt with retries left goes back to pending; finished means for good.
        const now = await readTask(services.database, taskId);
        if (!now || isFinished(now.status)) return;
      }
    }
  } finally {
    await events.return?.();
  }
}
