// The queue's tables, as Drizzle declarations only: drizzle-kit reads this file to generate the
// migrations under drizzle/. Columns are snake_case in SQL (the demo guide's queries name them),
// camelCase in TypeScript.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { TASK_STATUSES } from '../../shared/taskStatus.js';

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const statusList = sql.raw(TASK_STATUSES.map((s) => `'${s}'`).join(', '));

/** One row per enqueued workflow run. */
export const queueTasks = pgTable(
  'queue_tasks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** `task-<unix nanoseconds>-<id>`: the id clients see. */
    taskId: text('task_id').notNull().unique(),
    appName: text('app_name').notNull(),
    workflowName: text('workflow_name').notNull(),
    goldenPath: text('golden_path').notNull(),
    status: text('status', { enum: TASK_STATUSES }).notNull().default('pending'),
    /** The Score spec as submitted (parsed). */
    spec: jsonb('spec').notNull(),
    /** The resolved workflow steps the workers run. */
    steps: jsonb('steps').notNull(),
    /** `{ source, user }`: where the task came from. */
    metadata: jsonb('metadata').notNull(),
    createdBy: text('created_by').notNull(),
    priority: integer('priority').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    /** Attempts a failing workflow gets: 1 + `workflow.retries`. */
    maxAttempts: integer('max_attempts').notNull().default(1),
    /** Times the task was taken back from a node that died; bounded separately from failures. */
    lostCount: integer('lost_count').notNull().default(0),
    /**
     * Attempts (not counting lost ones) made before the last manual retry: each manual retry
     * grants a fresh `max_attempts`.
     */
    attemptBase: integer('attempt_base').notNull().default(0),
    /** Not claimed before this time (retry backoff). */
    runAt: timestamptz('run_at').notNull().defaultNow(),
    enqueuedAt: timestamptz('enqueued_at').notNull().defaultNow(),
    startedAt: timestamptz('started_at'),
    completedAt: timestamptz('completed_at'),
    errorMessage: text('error_message'),
    /** Every failed attempt's error, oldest first. */
    errors: jsonb('errors')
      .notNull()
      .default(sql`'[]'::jsonb`),
    /** The node holding the task while it runs, and until when its lease holds. */
    lockedBy: text('locked_by'),
    leaseExpiresAt: timestamptz('lease_expires_at'),
    cancelRequestedAt: timestamptz('cancel_requested_at'),
    idempotencyKey: text('idempotency_key'),
    /**
     * Set by a retry `from=failed`: the step the next attempt starts at (the earlier steps are
     * not run again). The claim that takes the task clears it.
     */
    resumeFrom: integer('resume_from'),
  },
  (t) => [
    check('queue_tasks_status_check', sql`${t.status} in (${statusList})`),
    check('queue_tasks_attempts_check', sql`${t.attempts} >= 0 and ${t.maxAttempts} >= 1`),
    // Claim order: higher priority first, FIFO within a priority.
    index('queue_tasks_claim_idx')
      .on(t.priority.desc(), t.id)
      .where(sql`${t.status} = 'pending'`),
    // The head of each application's queue, for claims under a per-application limit.
    index('queue_tasks_app_claim_idx')
      .on(t.appName, t.priority.desc(), t.id)
      .where(sql`${t.status} = 'pending'`),
    index('queue_tasks_lease_idx')
      .on(t.leaseExpiresAt)
      .where(sql`${t.status} = 'running'`),
    index('queue_tasks_locked_by_idx')
      .on(t.lockedBy)
      .where(sql`${t.status} = 'running'`),
    index('queue_tasks_enqueued_at_idx').on(t.enqueuedAt.desc()),
    index('queue_tasks_status_id_idx').on(t.status, t.id.desc()),
    index('queue_tasks_app_id_idx').on(t.appName, t.id.desc()),
    index('queue_tasks_finished_idx')
      .on(t.completedAt)
      .where(sql`${t.completedAt} is not null`),
    // Tasks waiting for their run_at (run later, retry backoff): the next wake-up, queue_size.
    index('queue_tasks_run_at_idx')
      .on(t.runAt)
      .where(sql`${t.status} = 'pending'`),
    // A schedule's latest tasks.
    index('queue_tasks_schedule_idx')
      .on(sql`(${t.metadata}->>'schedule')`, t.id.desc())
      .where(sql`${t.metadata} ? 'schedule'`),
    uniqueIndex('queue_tasks_idempotency_idx')
      .on(t.createdBy, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
  ],
);

/** One row per step of a task's attempt, written as the step starts and as it ends. */
export const queueTaskSteps = pgTable(
  'queue_task_steps',
  {
    taskId: bigint('task_id', { mode: 'number' })
      .notNull()
      .references(() => queueTasks.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    position: integer('position').notNull(),
    name: text('name').notNull(),
    type: text('type').notNull(),
    status: text('status', { enum: ['running', 'completed', 'failed', 'cancelled'] }).notNull(),
    startedAt: timestamptz('started_at').notNull().defaultNow(),
    finishedAt: timestamptz('finished_at'),
    exitCode: integer('exit_code'),
    /** The last STEP_OUTPUT_LIMIT bytes of stdout and stderr, interleaved as produced. */
    output: text('output').notNull().default(''),
    /** Bytes the step wrote in all; more than `output` holds when it was capped. */
    outputBytes: bigint('output_bytes', { mode: 'number' }).notNull().default(0),
    error: text('error'),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.attempt, t.position] })],
);

/** Live queue nodes: each renews its row on a timer while it runs. */
export const queueNodes = pgTable('queue_nodes', {
  id: text('id').primaryKey(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  concurrency: integer('concurrency').notNull(),
  startedAt: timestamptz('started_at').notNull().defaultNow(),
  heartbeatAt: timestamptz('heartbeat_at').notNull().defaultNow(),
  draining: boolean('draining').notNull().default(false),
});

/**
 * Running totals behind `GET /api/queue/stats`, kept by statement triggers on queue_tasks (see the
 * custom migration) so the stats cost the same with a million tasks as with ten. Spread over
 * shards so concurrent writers do not queue on one row; a read sums the shards.
 */
export const queueCounters = pgTable('queue_counters', {
  shard: smallint('shard').primaryKey(),
  enqueued: bigint('enqueued', { mode: 'number' }).notNull().default(0),
  pending: bigint('pending', { mode: 'number' }).notNull().default(0),
  running: bigint('running', { mode: 'number' }).notNull().default(0),
  completed: bigint('completed', { mode: 'number' }).notNull().default(0),
  failed: bigint('failed', { mode: 'number' }).notNull().default(0),
  cancelled: bigint('cancelled', { mode: 'number' }).notNull().default(0),
  queueTimeMsSum: doublePrecision('queue_time_ms_sum').notNull().default(0),
  queueTimeCount: bigint('queue_time_count', { mode: 'number' }).notNull().default(0),
  execTimeMsSum: doublePrecision('exec_time_ms_sum').notNull().default(0),
  execTimeCount: bigint('exec_time_count', { mode: 'number' }).notNull().default(0),
});

/** Webhook registrations (PUT /api/webhooks/:name); see server/webhooks/. */
export const queueWebhooks = pgTable('queue_webhooks', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull().unique(),
  url: text('url').notNull(),
  /** Event types (`task.completed`, …) this webhook receives. */
  events: text('events').array().notNull(),
  /** Only this application's tasks; null for all. */
  appName: text('app_name'),
  /** `whsec_<base64>`: the Standard Webhooks signing key. */
  secret: text('secret').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

/**
 * One row per event per webhook, inserted by a trigger on queue_tasks in the transaction that
 * changes the task's status (see the webhook_deliveries_trigger migration), sent by any node.
 */
export const queueWebhookDeliveries = pgTable(
  'queue_webhook_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    webhookId: bigint('webhook_id', { mode: 'number' })
      .notNull()
      .references(() => queueWebhooks.id, { onDelete: 'cascade' }),
    /** The `webhook-id` header: stable across attempts, so receivers can drop duplicates. */
    messageId: text('message_id').notNull().unique(),
    eventType: text('event_type').notNull(),
    /** The task's public id (no foreign key: retention may delete the task first). */
    taskId: text('task_id').notNull(),
    /** The JSON body sent, fixed when the event happened. */
    payload: jsonb('payload').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** Next try; a node sending it pushes this past its timeout (the lease). */
    nextAttemptAt: timestamptz('next_attempt_at').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [
    check(
      'queue_webhook_deliveries_status_check',
      sql`${t.status} in ('pending', 'delivered', 'failed')`,
    ),
    index('queue_webhook_deliveries_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'pending'`),
    index('queue_webhook_deliveries_webhook_idx').on(t.webhookId, t.status),
    index('queue_webhook_deliveries_finished_idx')
      .on(t.finishedAt)
      .where(sql`${t.finishedAt} is not null`),
  ],
);

/** Every attempt at a delivery: what the receiver answered, or why nothing came back. */
export const queueWebhookAttempts = pgTable(
  'queue_webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => queueWebhookDeliveries.id, { onDelete: 'cascade' }),
    webhookId: bigint('webhook_id', { mode: 'number' }).notNull(),
    attempt: integer('attempt').notNull(),
    attemptedAt: timestamptz('attempted_at').notNull().defaultNow(),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    nodeId: text('node_id').notNull(),
  },
  (t) => [index('queue_webhook_attempts_webhook_idx').on(t.webhookId, t.id.desc())],
);

/**
 * Task events too large for one NOTIFY (PostgreSQL's limit is 8,000 bytes): stored here and sent
 * by reference, read by the other nodes, deleted after a few minutes.
 */
export const queueEventSpill = pgTable('queue_event_spill', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  payload: text('payload').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/**
 * What is paused: `*` for the whole cluster, else an application name. No claim takes a task
 * that a row here covers; enqueueing goes on.
 */
export const queuePauses = pgTable('queue_pauses', {
  scope: text('scope').primaryKey(),
  pausedBy: text('paused_by').notNull(),
  pausedAt: timestamptz('paused_at').notNull().defaultNow(),
});

/**
 * Specs enqueued on a cron expression. A node that finds a schedule due moves `next_run_at` on
 * with one conditional UPDATE and inserts the task in the same transaction: exactly one task per
 * tick whatever the number of nodes.
 */
export const queueSchedules = pgTable(
  'queue_schedules',
  {
    name: text('name').primaryKey(),
    cron: text('cron').notNull(),
    timezone: text('timezone').notNull().default('UTC'),
    spec: jsonb('spec').notNull(),
    goldenPath: text('golden_path').notNull(),
    priority: integer('priority').notNull().default(0),
    paused: boolean('paused').notNull().default(false),
    /** The next tick not yet enqueued. */
    nextRunAt: timestamptz('next_run_at').notNull(),
    lastRunAt: timestamptz('last_run_at'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('queue_schedules_due_idx')
      .on(t.nextRunAt)
      .where(sql`NOT ${t.paused}`),
  ],
);
