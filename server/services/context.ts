// What the services need, handed to them as arguments (never imported as singletons), so tests
// can build them around any database and clock.
import type { Logger } from 'pino';
import type { Role } from '../../shared/api.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { EventHub } from '../events/eventHub.js';
import type { StatsFeed } from '../events/statsFeed.js';
import type { RateLimiter } from '../api/rateLimit.js';
import type { QueueMetrics } from '../metrics.js';
import type { InsertBatcher } from '../queue/insertBatcher.js';
import type { GoldenPaths } from '../workflow/goldenPaths.js';
import type { TaskLifecycle } from '../queue/taskLifecycle.js';

export type { Role } from '../../shared/api.js';

/** Who is calling: from a bearer token. */
export interface Principal {
  user: string;
  role: Role;
  /** A short, non-secret id of the token used (a hash prefix): for rate limits and logs. */
  tokenId: string;
}

export interface QueueServices {
  database: Database;
  config: Config;
  logger: Logger;
  goldenPaths: GoldenPaths;
  nodeId: string;
  events: EventHub;
  statsFeed: StatsFeed;
  metrics: QueueMetrics;
  enqueueLimiter: RateLimiter;
  /** Inserts new tasks, batching those that arrive together. */
  inserter: InsertBatcher;
  /** Aborted when the node shuts down; live streams end with it. */
  shutdown: AbortSignal;
  /** Counts, publishes and wakes for every change of a task's state (see taskLifecycle.ts). */
  lifecycle: TaskLifecycle;
  /** Tells the workers (this node's, and on PostgreSQL every node's) that a task is waiting. */
  announceNewTask(): void;
  /** Tells the nodes with workers to wake at `at` for a task enqueued to run then. */
  announceRunAt(at: Date): void;
  /** Tells every node's schedule ticker that the schedules changed. */
  announceSchedulesChanged(): void;
  /** Stops a task if this node runs it; true if it did. */
  stopLocalTask(taskRowId: number): boolean;
}
