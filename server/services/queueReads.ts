// The read side: stats, active tasks, health. Every number comes from the database, so it is
// the same on every node and survives restarts.
import type { ActiveTasks, Health, QueueStats } from '../../shared/api.js';
import { toTRPCError } from '../errors.js';
import { readActiveTasks } from '../queue/activeTasks.js';
import { readQueueStats } from '../queue/queueStats.js';
import type { QueueServices } from './context.js';

/** Most active tasks listed at once. */
const ACTIVE_TASKS_LIMIT = 1_000;

/** A node that missed this many heartbeats no longer counts among the workers. */
const MISSED_HEARTBEATS = 3;

export async function getQueueStats(
  services: Pick<QueueServices, 'database' | 'config'>,
): Promise<QueueStats> {
  try {
    const { tasks_cancelled: _cancelled, ...stats } = await readQueueStats(
      services.database,
      services.config.queue.heartbeatMs * MISSED_HEARTBEATS,
    );
    return stats;
  } catch (error) {
    throw toTRPCError(error);
  }
}

export async function getActiveTasks(services: QueueServices): Promise<ActiveTasks> {
  try {
    const tasks = await readActiveTasks(services.database, ACTIVE_TASKS_LIMIT);
    return { count: tasks.length, tasks };
  } catch (error) {
    throw toTRPCError(error);
  }
}

export async function checkHealth(services: QueueServices): Promise<Health> {
  const started = performance.now();
  try {
    await services.database.ping();
    return {
      status: 'ok',
      database: {
        kind: services.database.kind,
        reachable: true,
        latency_ms: Math.round((performance.now() - started) * 100) / 100,
      },
    };
  } catch (error) {
    services.logger.warn({ err: error }, 'health check: database unreachable');
    return {
      status: 'unavailable',
      database: { kind: services.database.kind, reachable: false, latency_ms: null },
    };
  }
}
