// Builds a queue node: database, workers, live events, HTTP server. `createQueueServer` does
// nothing until `start()`; tests start one on port 0 and stop it.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAuthenticator } from './api/auth.js';
import { createHttpServer } from './api/httpServer.js';
import { RateLimiter } from './api/rateLimit.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { isDatabaseUnavailable } from './db/errors.js';
import { migrateDatabase } from './db/migrate.js';
import { openDatabase } from './db/openDatabase.js';
import { EventHub } from './events/eventHub.js';
import { StatsFeed } from './events/statsFeed.js';
import { QueueMetrics } from './metrics.js';
import { GOLDEN_PATHS_DIR } from './paths.js';
import { CHANNELS, CoalescingNotifier } from './queue/channels.js';
import { ClaimStatistics } from './queue/claimStatistics.js';
import { InsertBatcher } from './queue/insertBatcher.js';
import { TaskLifecycle } from './queue/taskLifecycle.js';
import { RetentionJob } from './queue/retention.js';
import { QueueWorker } from './queue/worker.js';
import type { QueueServices } from './services/context.js';
import { getQueueStats } from './services/queueReads.js';
import { createSchedulingJobs } from './services/schedulingJobs.js';
import { loadGoldenPaths } from './workflow/goldenPaths.js';
import { WebhookSender } from './webhooks/webhookSender.js';
import { runWorkflow } from './workflow/runWorkflow.js';
import { StepLauncher } from './workflow/stepLauncher.js';
import { StepRecordBatcher } from './workflow/stepRecordBatcher.js';
import { resolveStepSandbox } from './workflow/stepSandbox.js';
import { resolveStepUser } from './workflow/stepUser.js';

export interface QueueServerOptions {
  config: Config;
  logger: Logger;
  /** Defaults to `<host>-<pid>-<random>`. */
  nodeId?: string;
  /** Where the golden paths are read from. @default GOLDEN_PATHS_DIR, else goldenpaths/ of the project */
  goldenPathsDir?: string;
}

export interface QueueServer {
  readonly nodeId: string;
  /** `http://127.0.0.1:<port>` once started. */
  readonly url: string;
  readonly services: QueueServices;
  readonly worker: QueueWorker;
  readonly http: FastifyInstance;
  start(): Promise<void>;
  /** Graceful: stops claiming, drains workers (up to SHUTDOWN_TIMEOUT), closes the database. */
  stop(): Promise<void>;
}

export async function createQueueServer(options: QueueServerOptions): Promise<QueueServer> {
  const { config, logger } = options;
  const nodeId =
    options.nodeId ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  // Configuration problems first: they need no database to be reported.
  const authenticator = createAuthenticator(config, logger);
  const goldenPaths = await loadGoldenPaths(
    options.goldenPathsDir ?? config.goldenPathsDir ?? GOLDEN_PATHS_DIR,
  );
  const stepUser = resolveStepUser(config.steps.user);
  // Only a node with workers runs steps.
  const sandbox =
    config.concurrency > 0 ? resolveStepSandbox(config, { logger, stepUser }) : undefined;
  // Steps are forked by a small helper process, not by this (much bigger) one: see stepLauncher.ts.
  const launcher =
    config.concurrency > 0
      ? new StepLauncher(logger, { posixSpawn: config.steps.posixSpawn })
      : undefined;
  const database: Database = await openDatabase(config.database, logger);
  const retention =
    config.retention.maxAgeMs > 0
      ? new RetentionJob(database, config.retention, logger)
      : undefined;

  // Only nodes that claim need the claim's plan to be right.
  const claimStatistics =
    config.concurrency > 0 ? new ClaimStatistics(database, logger) : undefined;
  const events = new EventHub(database, nodeId, logger);
  const stepRecords = new StepRecordBatcher(database, logger);
  const webhookSender = new WebhookSender({ database, nodeId, config: config.webhooks, logger });
  const metrics = new QueueMetrics(() => getQueueStats({ database, config }));
  const notifier =
    database.kind === 'postgres'
      ? new CoalescingNotifier(database, CHANNELS.newTask, (error) =>
          logger.warn({ err: error }, 'could not notify other nodes of a new task'),
        )
      : undefined;
  const lifecycle = new TaskLifecycle({
    events,
    metrics,
    wakeAll: () => {
      worker.wake();
      notifier?.signal();
    },
    wakeOthers: () => notifier?.signal(),
    wakeAt: (at) => scheduling.announceRunAt(at),
    appLimit: config.queue.appLimit,
  });

  const scheduling = createSchedulingJobs(
    { database, config, logger },
    () => services,
    () => worker.wake(),
  );
  const worker: QueueWorker = new QueueWorker({
    database,
    nodeId,
    concurrency: config.concurrency,
    ...config.queue,
    logger,
    run: (task, signal) =>
      runWorkflow(
        task,
        {
          db: database,
          stepRecords,
          steps: config.steps,
          logger,
          stepUser,
          sandbox,
          spawn: launcher?.spawn,
          publish: (event) => events.publish(event),
          onStepFinished: (step) => metrics.stepFinished(step.type, step.status, step.durationMs),
          failedWorkDirs: scheduling.failedWorkDirs,
        },
        signal,
      ),
    onTaskStarted: (task) => lifecycle.started(task),
    onTaskFinished: (task, outcome, status) => lifecycle.finished(task, outcome, status),
    onTaskReturned: () => lifecycle.returned(),
    onTaskRecovered: (task) => lifecycle.recovered(task),
    // A backlog: the claim's plan depends on the planner knowing it (claimStatistics.ts).
    onBacklog: () => void claimStatistics?.nudge(),
  });

  // Aborted when the node stops: live streams end so the HTTP server can close.
  const shutdown = new AbortController();
  const services: QueueServices = {
    database,
    config,
    logger,
    goldenPaths,
    nodeId,
    events,
    statsFeed: new StatsFeed(
      () => getQueueStats({ database, config }),
      events,
      (error) => logger.warn({ err: error }, 'could not refresh live stats'),
    ),
    shutdown: shutdown.signal,
    metrics,
    enqueueLimiter: new RateLimiter(config.rateLimit.perSecond, config.rateLimit.burst),
    inserter: new InsertBatcher(database),
    lifecycle,
    announceNewTask() {
      worker.wake();
      notifier?.signal();
    },
    stopLocalTask: (taskRowId) => worker.cancelLocal(taskRowId, 'cancel'),
    announceRunAt: (at) => scheduling.announceRunAt(at),
    announceSchedulesChanged: () => scheduling.announceSchedulesChanged(),
  };

  let ready = false;
  let stopping: Promise<void> | undefined;
  let startup: Promise<void> | undefined;

  /** True once the schema is up to date; false when the database cannot be reached. */
  const migrateIfReachable = async (): Promise<boolean> => {
    try {
      await migrateDatabase(database, logger);
      return true;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      logger.error(
        { err: error },
        'The database is unreachable at start-up: the API answers 503 and /ready is false until it is back; retrying',
      );
      return false;
    }
  };

  const startQueue = async () => {
    await events.start();
    await worker.start();
    await scheduling.start();
    retention?.start();
    claimStatistics?.start();
    webhookSender.start();
    logger.info(
      config.concurrency > 0
        ? `Async workflow queue initialized with ${config.concurrency} workers`
        : 'Async workflow queue initialized with 0 workers (API-only node: it stores and serves tasks but never runs them)',
    );
  };

  const keepTrying = async () => {
    for (let delay = 500; !shutdown.signal.aborted; delay = Math.min(delay * 2, 10_000)) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          shutdown.signal.removeEventListener('abort', wake);
          resolve();
        }, delay);
        shutdown.signal.addEventListener('abort', wake, { once: true });
      });
      if (shutdown.signal.aborted) return;
      try {
        await migrateDatabase(database, logger);
      } catch (error) {
        logger.warn(
          { err: error, retryInMs: Math.min(delay * 2, 10_000) },
          'database still unreachable',
        );
        continue;
      }
      logger.info('The database is reachable again');
      try {
        await startQueue();
      } catch (error) {
        logger.warn({ err: error }, 'could not start the queue; retrying');
        continue;
      }
      ready = true;
      return;
    }
  };
  const http = await createHttpServer({
    services,
    authenticator,
    logger,
    isReady: () => ready,
    isClosing: () => shutdown.signal.aborted,
  });
  let url = '';

  return {
    nodeId,
    services,
    worker,
    http,
    get url() {
      return url;
    },
    async start() {
      // The usual order: the database answers, the queue starts, then the HTTP server listens.
      // If the database is down, the server listens anyway (the API answers 503, /ready is
      // false) and keeps trying; the queue starts once the database is back.
      const migrated = await migrateIfReachable();
      if (migrated) await startQueue();
      await http.listen({
        port: config.port,
        host: config.host,
        listenTextResolver: (address) => `HTTP bound to ${address}`,
      });
      const { port } = http.server.address() as AddressInfo;
      url = `http://127.0.0.1:${port}`;
      logger.info(
        { nodeId, host: config.host, database: database.kind },
        `Server listening on :${port}`,
      );
      if (migrated) ready = true;
      else startup = keepTrying();
    },
    stop() {
      stopping ??= (async () => {
        ready = false;
        shutdown.abort();
        logger.info('Shutting down: no new tasks are claimed; running tasks may finish');
        await startup?.catch(() => undefined);
        await Promise.all([
          http.close(),
          worker
            .stop(config.shutdownTimeoutMs)
            .finally(() => Promise.all([launcher?.close(), stepRecords.drain()])),
          retention?.stop(),
          claimStatistics?.stop(),
          webhookSender.stop(),
          scheduling.stop(),
        ]);
        await events.stop();
        await database.close();
        logger.info('Shutdown complete');
      })();
      return stopping;
    },
  };
}
