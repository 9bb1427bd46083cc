// Stored schedules: the services behind PUT/GET/DELETE /api/schedules/:name, its pause and
// resume, and their tRPC procedures; and the task a schedule's tick enqueues.
import { TRPCError } from '@trpc/server';
import { DEFAULT_GOLDEN_PATH } from '../../shared/api.js';
import type {
  ScheduleAction,
  ScheduleDetail,
  ScheduleInput,
  ScheduleList,
  ScheduleSummary,
} from '../../shared/scheduling.js';
import type { ScoreSpec } from '../../shared/spec.js';
import { toTRPCError } from '../errors.js';
import { nextTick, nextTicks, parseCron } from '../queue/cronTimes.js';
import { listTasks } from '../queue/readTasks.js';
import {
  deleteSchedule,
  readSchedule,
  readSchedules,
  setSchedulePaused,
  upsertSchedule,
  type ScheduleRow,
} from '../queue/schedules.js';
import type { NewTask } from '../queue/types.js';
import type { Principal, QueueServices } from './context.js';
import { resolveWorkflow } from './enqueueSpec.js';

/** Ticks shown ahead, and tasks shown behind, in a schedule's detail. */
const NEXT_RUNS = 5;
const LAST_TASKS = 10;

const notFound = (name: string) =>
  new TRPCError({ code: 'NOT_FOUND', message: `No schedule '${name}'.` });

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toTRPCError(error);
  }
}

export function putSchedule(
  services: QueueServices,
  name: string,
  input: ScheduleInput,
  principal: Principal,
): Promise<{ created: boolean; schedule: ScheduleDetail }> {
  return guarded(async () => {
    const rule = { cron: input.cron.trim(), timezone: input.timezone ?? 'UTC' };
    parseCron(rule);
    const goldenPath = input.golden_path ?? DEFAULT_GOLDEN_PATH;
    // The spec must make a task now, not only at its first tick.
    resolveWorkflow(services, input.spec, goldenPath);
    const nextRunAt = nextTick(rule, new Date());
    if (!nextRunAt) throw new Error('unreachable: parseCron refuses rules that never fire');
    const created = await upsertSchedule(services.database, {
      name,
      ...rule,
      spec: input.spec,
      goldenPath,
      priority: input.priority ?? 0,
      nextRunAt,
      user: principal.user,
    });
    services.logger.info({ schedule: name, user: principal.user, ...rule }, 'schedule stored');
    services.announceSchedulesChanged();
    return { created, schedule: await detail(services, name) };
  });
}

export function listSchedules(services: QueueServices): Promise<ScheduleList> {
  return guarded(async () => ({
    schedules: (await readSchedules(services.database)).map(toSummary),
  }));
}

export function getSchedule(services: QueueServices, name: string): Promise<ScheduleDetail> {
  return guarded(() => detail(services, name));
}

export function removeSchedule(
  services: QueueServices,
  name: string,
  principal: Principal,
): Promise<ScheduleAction> {
  return guarded(async () => {
    if (!(await deleteSchedule(services.database, name))) throw notFound(name);
    services.logger.info({ schedule: name, user: principal.user }, 'schedule removed');
    services.announceSchedulesChanged();
    return { name, message: `Schedule '${name}' removed; its tasks stay.` };
  });
}

export function pauseSchedule(
  services: QueueServices,
  name: string,
  paused: boolean,
  principal: Principal,
): Promise<ScheduleAction> {
  return guarded(async () => {
    const row = await readSchedule(services.database, name);
    if (!row) throw notFound(name);
    const next = paused
      ? undefined
      : (nextTick({ cron: row.cron, timezone: row.timezone }, new Date()) ?? undefined);
    if (!(await setSchedulePaused(services.database, name, paused, next))) throw notFound(name);
    services.logger.info({ schedule: name, user: principal.user, paused }, 'schedule changed');
    services.announceSchedulesChanged();
    return {
      name,
      message: paused
        ? `Schedule '${name}' paused.`
        : `Schedule '${name}' resumed; next run ${next?.toISOString() ?? 'never'}.`,
    };
  });
}

/** The task a tick of schedule `row` enqueues. */
export function buildScheduledTask(
  services: Pick<QueueServices, 'goldenPaths' | 'config'>,
  row: ScheduleRow,
  tick: Date,
): NewTask {
  return {
    ...resolveWorkflow(services, row.spec as unknown as ScoreSpec, row.golden_path),
    metadata: {
      source: 'schedule',
      user: row.created_by,
      schedule: row.name,
      scheduled_for: tick.toISOString(),
    },
    createdBy: row.created_by,
    priority: row.priority,
  };
}

async function detail(services: QueueServices, name: string): Promise<ScheduleDetail> {
  const row = await readSchedule(services.database, name);
  if (!row) throw notFound(name);
  const rule = { cron: row.cron, timezone: row.timezone };
  const recent = await listTasks(services.database, { limit: LAST_TASKS }, { schedule: name });
  return {
    ...toSummary(row),
    spec: row.spec,
    next_runs: row.paused
      ? []
      : nextTicks(rule, new Date(row.next_run_at.getTime() - 1), NEXT_RUNS).map((d) =>
          d.toISOString(),
        ),
    last_tasks: recent.tasks,
  };
}

function toSummary(row: ScheduleRow): ScheduleSummary {
  return {
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    app_name: row.spec.metadata.name,
    golden_path: row.golden_path,
    priority: row.priority,
    paused: row.paused,
    next_run_at: row.paused ? null : row.next_run_at.toISOString(),
    last_run_at: row.last_run_at?.toISOString() ?? null,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
