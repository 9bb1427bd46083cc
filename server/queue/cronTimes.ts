// Cron expressions, read by croner (a maintained, dependency-free library with time zones and
// an optional seconds field) rather than by a parser of our own.
import { Cron } from 'croner';
import { badRequest } from '../errors.js';

export interface CronRule {
  cron: string;
  timezone: string;
}

/** A checked rule, or a 400 naming `cron` or `timezone`. */
export function parseCron(rule: CronRule): Cron {
  if (!isTimeZone(rule.timezone)) {
    throw badRequest(`Invalid timezone: '${rule.timezone}' is not an IANA time zone.`, [
      { path: 'timezone', message: "must be an IANA time zone, e.g. 'Europe/Berlin' or 'UTC'" },
    ]);
  }
  try {
    const cron = new Cron(rule.cron, {
      timezone: rule.timezone,
      paused: true,
      mode: '5-or-6-parts',
    });
    if (cron.nextRun() === null) throw new Error('it never fires');
    return cron;
  } catch (error) {
    const reason = (error as Error).message.replace(/^CronPattern: /, '');
    throw badRequest(`Invalid cron: ${reason}`, [
      {
        path: 'cron',
        message: `must be a cron expression of 5 fields, or 6 with seconds: ${reason}`,
      },
    ]);
  }
}

/** The first `count` ticks after `from`. */
export function nextTicks(rule: CronRule, from: Date, count: number): Date[] {
  return parseCron(rule).nextRuns(count, from);
}

/** The first tick after `from`, or null if the rule never fires again. */
export function nextTick(rule: CronRule, from: Date): Date | null {
  return parseCron(rule).nextRun(from);
}

/** The latest tick at or before `at`, not before `earliest`. */
export function latestTick(rule: CronRule, earliest: Date, at: Date): Date {
  const [previous] = parseCron(rule).previousRuns(1, new Date(at.getTime() + 1));
  return previous && previous.getTime() >= earliest.getTime() ? previous : earliest;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
