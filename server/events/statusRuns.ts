// Runs of alike `task.status` events on the NOTIFY wire between nodes. Consecutive events that
// share status, attempt and error travel as one item listing each task's id, application and
// time (milliseconds after the run's first), about a quarter of the bytes of the events one by
// one: a batch enqueue publishes a thousand `pending` events at once. Receivers rebuild the
// events exactly; a node of an older version ignores the item (live events are best effort).
import { z } from 'zod';
import type { TaskEvent } from '../../shared/events.js';
import { taskStatusSchema } from '../../shared/taskStatus.js';
import { joinWithin } from './payloadChunks.js';

type StatusEvent = Extract<TaskEvent, { type: 'task.status' }>;

const RUN_KIND = 'status-run';
/**
 * Longer ids, names or errors go one by one, so that a run's head and any one entry fit in a
 * payload with room to spare (a character takes at most 6 bytes in JSON).
 */
const MAX_FIELD_CHARS = 300;

const statusRunSchema = z.object({
  k: z.literal(RUN_KIND),
  s: taskStatusSchema,
  a: z.int(),
  x: z.string().nullable(),
  t0: z.number(),
  /** [task_id, app_name, ms after t0] for each task, flattened. */
  r: z.array(z.union([z.string(), z.number()])),
});

/** Whether an event can join a run: its time must come back unchanged from milliseconds. */
function runnable(event: TaskEvent, lastGoodAt: { at: string }): event is StatusEvent {
  if (
    event.type !== 'task.status' ||
    event.task_id.length + event.app_name.length > MAX_FIELD_CHARS ||
    (event.error_message ?? '').length > MAX_FIELD_CHARS
  ) {
    return false;
  }
  // Events published together mostly share their time: it is checked once.
  if (event.at === lastGoodAt.at) return true;
  const ms = Date.parse(event.at);
  if (Number.isNaN(ms) || new Date(ms).toISOString() !== event.at) return false;
  lastGoodAt.at = event.at;
  return true;
}

function alike(a: StatusEvent, b: StatusEvent): boolean {
  return a.status === b.status && a.attempt === b.attempt && a.error_message === b.error_message;
}

/** How many events from `start` form a run (0 when fewer than two would). */
export function statusRunLength(events: readonly TaskEvent[], start: number): number {
  const first = events[start];
  const lastGoodAt = { at: '' };
  if (!first || !runnable(first, lastGoodAt)) return 0;
  let end = start + 1;
  while (end < events.length) {
    const next = events[end]!;
    if (!runnable(next, lastGoodAt) || !alike(first, next)) break;
    end += 1;
  }
  return end - start >= 2 ? end - start : 0;
}

/** The run as JSON items of at most `room` bytes each, in order. */
export function encodeStatusRun(run: readonly TaskEvent[], room: number): string[] {
  const first = run[0] as StatusEvent;
  const t0 = Date.parse(first.at);
  const head = `{"k":"${RUN_KIND}","s":${JSON.stringify(first.status)},"a":${first.attempt},"x":${JSON.stringify(first.error_message)},"t0":${t0},"r":[`;
  let lastAt = first.at;
  let dt = 0;
  const entries = (run as readonly StatusEvent[]).map((event) => {
    if (event.at !== lastAt) {
      lastAt = event.at;
      dt = Date.parse(event.at) - t0;
    }
    return `${JSON.stringify(event.task_id)},${JSON.stringify(event.app_name)},${dt}`;
  });
  return joinWithin(head, entries, room);
}

/** The events of a run item; undefined when `raw` is not one (or not a valid one). */
export function decodeStatusRun(raw: unknown): StatusEvent[] | undefined {
  if ((raw as { k?: unknown } | null)?.k !== RUN_KIND) return undefined;
  const parsed = statusRunSchema.safeParse(raw);
  if (!parsed.success || parsed.data.r.length % 3 !== 0) return undefined;
  const { s, a, x, t0, r } = parsed.data;
  const events: StatusEvent[] = [];
  for (let i = 0; i < r.length; i += 3) {
    const [taskId, appName, dt] = [r[i], r[i + 1], r[i + 2]];
    if (typeof taskId !== 'string' || typeof appName !== 'string' || typeof dt !== 'number') {
      return undefined;
    }
    const at = new Date(t0 + dt);
    if (Number.isNaN(at.getTime())) return undefined;
    events.push({
      type: 'task.status',
      task_id: taskId,
      app_name: appName,
      status: s,
      attempt: a,
      error_message: x,
      at: at.toISOString(),
    });
  }
  return events;
}
