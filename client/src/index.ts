// @innominatus-queue/client: `createQueueClient({ url, token })` talks to a queue server with a
// typed method for every call and subscription. This entry uses fetch (browsers, Deno, Bun…);
// Node gets ./node.ts, the same API on a keep-alive Agent.
import { buildQueueClient, type QueueClient, type QueueClientOptions } from './queueClient.js';

export { QueueClientError, type QueueErrorCode } from './errors.js';
export type {
  FetchLike,
  QueueClient,
  QueueClientOptions,
  Subscription,
  SubscriptionHandlers,
} from './queueClient.js';
// Named one by one: the declaration bundle would otherwise export the Zod schemas behind them
// as values this package does not ship.
export type {
  ActiveTask,
  ActiveTasks,
  EnqueuedTask,
  EnqueueResponse,
  EnqueueSpecInput,
  EnqueueSpecsInput,
  EnqueueSpecsResponse,
  GoldenPathList,
  GoldenPathSummary,
  Health,
  Liveness,
  QueueStats,
  Readiness,
  Role,
  TaskMetadata,
  TaskSource,
} from '../../shared/api.js';
export type { StatsEvent, TaskEvent } from '../../shared/events.js';
export type {
  Pause,
  PauseInput,
  Pauses,
  RetryFrom,
  ScheduleAction,
  ScheduleDetail,
  ScheduleInput,
  ScheduleList,
  ScheduleSummary,
} from '../../shared/scheduling.js';
export type {
  PutWebhookResponse,
  Webhook,
  WebhookAttempt,
  WebhookEvent,
  WebhookInput,
  WebhookList,
} from '../../shared/webhooks.js';
export type {
  TaskAction,
  TaskDetail,
  TaskList,
  TaskListInput,
  TaskLogs,
  TaskStep,
  TaskSummary,
} from '../../shared/tasks.js';
export type { FieldProblem } from '../../shared/errors.js';
export type { ScoreSpec, Workflow, WorkflowStep } from '../../shared/spec.js';
export type { FinishedStatus, TaskStatus } from '../../shared/taskStatus.js';

export function createQueueClient(options: QueueClientOptions): QueueClient {
  return buildQueueClient(options);
}
