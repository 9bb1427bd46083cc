// When an enqueued task may start: `run_at` (an RFC 3339 time) or `delay` (seconds from now),
// not both; at most a year ahead. A time in the past means at once.
import { MAX_RUN_LATER_MS } from '../../shared/scheduling.js';
import { badRequest } from '../errors.js';

export interface RunLaterInput {
  /** Already checked to be an RFC 3339 time. */
  runAt?: string | undefined;
  delaySeconds?: number | undefined;
  /** How the fields are called where they came from (`run_at` in REST, `runAt` in tRPC). */
  names?: { runAt: string; delay: string };
}

/** The time the task may start; undefined for at once. */
export function resolveRunAt(input: RunLaterInput, now = Date.now()): Date | undefined {
  const names = input.names ?? { runAt: 'runAt', delay: 'delaySeconds' };
  if (input.runAt !== undefined && input.delaySeconds !== undefined) {
    throw badRequest(`Give ${names.runAt} or ${names.delay}, not both.`, [
      { path: names.delay, message: `must not be given with ${names.runAt}` },
    ]);
  }
  const at =
    input.runAt !== undefined
      ? Date.parse(input.runAt)
      : input.delaySeconds !== undefined
        ? now + input.delaySeconds * 1000
        : undefined;
  if (at === undefined || at <= now) return undefined;
  if (at - now > MAX_RUN_LATER_MS) {
    const field = input.runAt !== undefined ? names.runAt : names.delay;
    throw badRequest(`Invalid ${field}: it must be at most a year ahead.`, [
      { path: field, message: 'must be at most a year ahead' },
    ]);
  }
  return new Date(at);
}
