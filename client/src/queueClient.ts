// The SDK's one implementation: a method for every procedure and subscription of the server's
// tRPC router, whose type it imports (only at build time: the published declarations do not name it).
import {
  createTRPCClient,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClientError,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '../../server/api/router.js';
import type {
  ActiveTasks,
  EnqueueResponse,
  EnqueueSpecInput,
  GoldenPathList,
  EnqueueSpecsInput,
  EnqueueSpecsResponse,
  QueueStats,
} from '../../shared/api.js';
import type { TaskEvent } from '../../shared/events.js';
import type {
  PauseInput,
  Pauses,
  RetryFrom,
  ScheduleAction,
  ScheduleDetail,
  ScheduleInput,
  ScheduleList,
} from '../../shared/scheduling.js';
import type {
  TaskAction,
  TaskDetail,
  TaskList,
  TaskListInput,
  TaskLogs,
} from '../../shared/tasks.js';
import { QueueClientError, toQueueClientError } from './errors.js';
import { createJsonCaller } from './jsonCaller.js';
import { resultOnceLink } from './resultOnceLink.js';

/** A fetch as tRPC's httpLink calls it. */
export type FetchLike = (url: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface QueueClientOptions {
  /** Base URL of the server, e.g. `http://localhost:8081`. */
  url: string;
  /** Bearer token: needed to enqueue, cancel and retry, and to read task details and logs. */
  token?: string | undefined;
  /** Give up on a call after this many milliseconds. @default 30000 */
  timeoutMs?: number;
  /**
   * Times a call is tried again after a network failure, where that is safe: reads, and an
   * enqueue that carries an idempotency key. @default 2
   */
  retries?: number;
  /**
   * A custom fetch (tests, proxies), for calls and subscriptions. @default globalThis.fetch; in
   * Node, calls go through undici's request on a keep-alive Agent of the client's own
   */
  fetch?: typeof globalThis.fetch;
  /**
   * Connection attempts a subscription makes in a row, without getting through, before it ends
   * with a NETWORK_ERROR. @default 5
   */
  connectAttempts?: number;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface SubscriptionHandlers<T> {
  onData: (value: T) => void;
  onError?: (error: QueueClientError) => void;
  /** The server ended the stream (a task's stream ends when the task does); not called after unsubscribe(). */
  onComplete?: () => void;
}

export interface PauseAnswer {
  app_name: string | null;
  paused: boolean;
  message: string;
}

export interface QueueClient {
  enqueueSpec(input: EnqueueSpecInput): Promise<EnqueueResponse>;
  /**
   * Up to 1,000 specs in one call, stored together or not at all; the tasks come back in the
   * order of the specs. Tried again after a network failure only when every spec has an
   * idempotency key.
   */
  enqueueSpecs(input: EnqueueSpecsInput): Promise<EnqueueSpecsResponse>;
  queueStats(): Promise<QueueStats>;
  /** The golden paths a spec may run, with their steps' names and descriptions. */
  goldenPaths(): Promise<GoldenPathList>;
  activeTasks(): Promise<ActiveTasks>;
  tasks(input?: TaskListInput): Promise<TaskList>;
  task(taskId: string): Promise<TaskDetail>;
  taskLogs(taskId: string, offset?: number): Promise<TaskLogs>;
  cancelTask(taskId: string): Promise<TaskAction>;
  /** `from: 'failed'`: from the first step that failed (failed tasks only). */
  retryTask(taskId: string, options?: { from?: RetryFrom }): Promise<TaskAction>;
  /** Stops new claims, cluster-wide or (`app_name`) for one application. Admin only. */
  pauseQueue(input?: PauseInput): Promise<PauseAnswer>;
  resumeQueue(input?: PauseInput): Promise<PauseAnswer>;
  pauses(): Promise<Pauses>;
  schedules(): Promise<ScheduleList>;
  schedule(name: string): Promise<ScheduleDetail>;
  /** Creates or replaces a schedule. */
  putSchedule(name: string, input: ScheduleInput): Promise<ScheduleDetail>;
  deleteSchedule(name: string): Promise<ScheduleAction>;
  pauseSchedule(name: string): Promise<ScheduleAction>;
  resumeSchedule(name: string): Promise<ScheduleAction>;
  /** The stats now and whenever they change. */
  onStats(handlers: SubscriptionHandlers<QueueStats>): Subscription;
  /** A task's status changes, step starts and ends, and output, until the task ends. */
  onTask(taskId: string, handlers: SubscriptionHandlers<TaskEvent>): Subscription;
}

const RETRY_DELAYS_MS = [200, 1_000, 3_000];

/** What tRPC reports of a subscription's connection (structurally; its type is internal). */
interface ConnectionState {
  state: 'idle' | 'connecting' | 'pending';
  error: unknown;
}

/**
 * Builds a client. `defaultTransport` makes the fetch for calls when the options name none: the
 * Node entry passes its keep-alive transport; elsewhere calls use globalThis.fetch.
 */
export function buildQueueClient(
  options: QueueClientOptions,
  defaultTransport?: (timeoutMs: number) => FetchLike,
): QueueClient {
  const url = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retries = options.retries ?? 2;
  const connectAttempts = options.connectAttempts ?? 5;
  const baseFetch = options.fetch ?? globalThis.fetch;
  const authorization = (): Record<string, string> =>
    options.token ? { authorization: `Bearer ${options.token}` } : {};

  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${url}/trpc`,
          // Node 20 has no EventSource; this one also lets the token travel in a header.
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input, init) =>
              baseFetch(input, { ...init, headers: { ...init?.headers, ...authorization() } }),
          }),
        }),
        false: [
          resultOnceLink(),
          httpLink({
            url: `${url}/trpc`,
            headers: authorization,
            fetch: (input: string | URL | Request, init?: RequestInit) =>
              baseFetch(input, {
                ...init,
                signal: init?.signal ?? AbortSignal.timeout(timeoutMs),
              }),
          }),
        ],
      }),
    ],
  });
  // Under Node (the keep-alive transport), queries and mutations skip tRPC's client: a lean
  // caller sends what httpLink sends and answers as tRPC's client does (jsonCaller.ts).
  const calls =
    options.fetch || !defaultTransport
      ? trpc
      : createJsonCaller<AppRouter>({
          url: `${url}/trpc`,
          headers: authorization,
          fetch: defaultTransport(timeoutMs),
        });

  /** Runs a call; tries again after network failures when `safe`. */
  async function call<T>(fn: () => Promise<T>, safe: boolean): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const failure = toQueueClientError(error, url);
        if (!safe || !failure.isNetworkError || attempt >= retries) throw failure;
        await new Promise((r) =>
          setTimeout(r, RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]),
        );
      }
    }
  }

  /**
   * Runs a subscription. The link reconnects by itself after a dropped stream; a stream that
   * cannot connect `connectAttempts` times in a row ends with a NETWORK_ERROR instead of retrying
   * unseen forever. `onComplete` reports the server ending the stream, not `unsubscribe()`.
   */
  function subscription<T>(
    start: (callbacks: {
      onData: (value: T) => void;
      onError: (error: TRPCClientError<AppRouter>) => void;
      onComplete: () => void;
      onConnectionStateChange: (state: ConnectionState) => void;
    }) => { unsubscribe(): void },
    handlers: SubscriptionHandlers<T>,
  ): Subscription {
    let ended = false;
    let failures = 0;
    const end = () => {
      ended = true;
      inner.unsubscribe();
    };
    const inner = start({
      onData: (value) => {
        failures = 0;
        handlers.onData(value);
      },
      onError: (error) => {
        if (ended) return;
        ended = true;
        handlers.onError?.(toQueueClientError(error, url));
      },
      onComplete: () => {
        if (ended) return;
        ended = true;
        handlers.onComplete?.();
      },
      onConnectionStateChange: (state) => {
        if (state.state === 'pending') failures = 0;
        if (state.state !== 'connecting' || !state.error || ended) return;
        failures += 1;
        if (failures >= connectAttempts) {
          const error = toQueueClientError(state.error, url);
          end();
          handlers.onError?.(
            error.isNetworkError
              ? error
              : new QueueClientError(
                  `Cannot reach the queue server at ${url}: ${error.message}`,
                  'NETWORK_ERROR',
                  undefined,
                  undefined,
                  { cause: error },
                ),
          );
        }
      },
    });
    return { unsubscribe: end };
  }

  return {
    enqueueSpec: (input) =>
      call(() => calls.enqueueSpec.mutate(input), input.idempotencyKey !== undefined),
    enqueueSpecs: (input) =>
      call(
        () => calls.enqueueSpecs.mutate(input),
        input.specs.every((s) => s.idempotencyKey !== undefined),
      ),
    queueStats: () => call(() => calls.queueStats.query(), true),
    goldenPaths: () => call(() => calls.goldenPaths.query(), true),
    activeTasks: () => call(() => calls.activeTasks.query(), true),
    tasks: (input = {}) => call(() => calls.tasks.query(input), true),
    task: (taskId) => call(() => calls.task.query({ taskId }), true),
    taskLogs: (taskId, offset) =>
      call(
        () => calls.taskLogs.query(offset === undefined ? { taskId } : { taskId, offset }),
        true,
      ),
    cancelTask: (taskId) => call(() => calls.cancelTask.mutate({ taskId }), false),
    retryTask: (taskId, retryOptions = {}) =>
      call(() => calls.retryTask.mutate({ taskId, ...retryOptions }), false),
    // Pausing and resuming are idempotent: safe to send again.
    pauseQueue: (input = {}) => call(() => calls.pauseQueue.mutate(input), true),
    resumeQueue: (input = {}) => call(() => calls.resumeQueue.mutate(input), true),
    pauses: () => call(() => calls.pauses.query(), true),
    schedules: () => call(() => calls.schedules.query(), true),
    schedule: (name) => call(() => calls.schedule.query({ name }), true),
    putSchedule: (name, input) => call(() => calls.putSchedule.mutate({ name, ...input }), true),
    deleteSchedule: (name) => call(() => calls.deleteSchedule.mutate({ name }), false),
    pauseSchedule: (name) => call(() => calls.pauseSchedule.mutate({ name }), true),
    resumeSchedule: (name) => call(() => calls.resumeSchedule.mutate({ name }), true),
    onStats: (handlers) =>
      subscription<QueueStats>(
        (callbacks) => trpc.onStats.subscribe(undefined, callbacks),
        handlers,
      ),
    onTask: (taskId, handlers) =>
      subscription<TaskEvent>(
        (callbacks) => trpc.onTask.subscribe({ taskId }, callbacks),
        handlers,
      ),
  };
}
