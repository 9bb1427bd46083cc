// A node's share of scheduling: the run-later timer (nodes with workers), the schedule ticker,
// and the sweep of kept working directories. app.ts starts and stops them with the queue.
import { CHANNELS, notify } from '../queue/channels.js';
import { RunLaterWaker } from '../queue/runLaterWaker.js';
import { ScheduleTicker } from '../queue/scheduleTicker.js';
import { FailedWorkDirs } from '../workflow/failedWorkDirs.js';
import type { QueueServices } from './context.js';
import { buildScheduledTask } from './schedules.js';

export interface SchedulingJobs {
  readonly failedWorkDirs: FailedWorkDirs;
  announceRunAt(at: Date): void;
  announceSchedulesChanged(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createSchedulingJobs(
  deps: Pick<QueueServices, 'database' | 'config' | 'logger'>,
  /** The node's services, once built (they need these jobs first). */
  services: () => QueueServices,
  wakeWorkers: () => void,
): SchedulingJobs {
  const { database, config, logger } = deps;
  const waker =
    config.concurrency > 0
      ? new RunLaterWaker(database, wakeWorkers, config.queue.pollIntervalMs, logger)
      : undefined;
  const ticker = new ScheduleTicker({
    database,
    pollIntervalMs: config.queue.pollIntervalMs,
    logger,
    buildTask: (row, tick) => buildScheduledTask(services(), row, tick),
    onEnqueued: (inserted) => services().lifecycle.enqueued([inserted], 'schedule'),
  });
  const failedWorkDirs = new FailedWorkDirs(
    database,
    config.steps.workDir,
    config.steps.keepFailedWorkDirMs,
    logger,
  );
  const warn = (what: string) => (error: unknown) => logger.warn({ err: error }, what);
  return {
    failedWorkDirs,
    announceRunAt(at) {
      waker?.wakeAt(at.getTime());
      if (database.kind === 'postgres') {
        notify(database, CHANNELS.runLater, String(at.getTime())).catch(
          warn('could not tell other nodes of a task to run later'),
        );
      }
    },
    announceSchedulesChanged() {
      ticker.refresh();
      if (database.kind === 'postgres') {
        notify(database, CHANNELS.schedulesChanged).catch(
          warn('could not tell other nodes that the schedules changed'),
        );
      }
    },
    async start() {
      await waker?.start();
      await ticker.start();
      failedWorkDirs.start();
    },
    async stop() {
      failedWorkDirs.stop();
      await Promise.all([waker?.stop(), ticker.stop()]);
    },
  };
}
