// Several tasks followed at once, for the demo: when all have started, and how each ended.
import type { QueueClient } from '@innominatus-queue/client';
import type { TaskStatus } from '../../shared/taskStatus.js';
import { followTask } from './taskFollower.js';

export interface TaskTracker {
  /** Every task has left the queue: it runs, or has already ended. */
  allStarted: Promise<void>;
  /** How each task ended, in the order of the ids. */
  allFinished: Promise<TaskStatus[]>;
  stop(): void;
}

export function trackTasks(client: QueueClient, ids: readonly string[]): TaskTracker {
  const started = new Set<string>();
  let markAllStarted = () => {};
  const allStarted = new Promise<void>((resolve) => (markAllStarted = resolve));
  const follows = ids.map((id) =>
    followTask(client, id, (event) => {
      if (event.type !== 'task.status' || event.status === 'pending') return;
      started.add(id);
      if (started.size === ids.length) markAllStarted();
    }),
  );
  const allFinished = Promise.all(follows.map((f) => f.finished)).then((tasks) =>
    tasks.map((task): TaskStatus => task.status),
  );
  // A failure is reported through allFinished; allStarted must not leave it unhandled meanwhile.
  allFinished.catch(() => undefined);
  return {
    allStarted: Promise.race([allStarted, allFinished.then(() => undefined)]),
    allFinished,
    stop: () => follows.forEach((f) => f.stop()),
  };
}
