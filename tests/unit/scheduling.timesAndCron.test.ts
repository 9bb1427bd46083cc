// The time rules of scheduling, without a server: run_at/delay resolution, cron and time zone
// checks (400s naming the field), missed ticks, and the CLI's --in durations.
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { duration } from '../../client/cli/argParsers.js';
import { problemsOf } from '../../server/errors.js';
import { latestTick, nextTick, parseCron } from '../../server/queue/cronTimes.js';
import { resolveRunAt } from '../../server/services/runLater.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

function refusedField(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe('BAD_REQUEST');
    return (problemsOf(error as TRPCError) ?? []).map((p) => p.path);
  }
  throw new Error('not refused');
}

describe('resolveRunAt', () => {
  it('turns a delay or a future time into a date, and a past time into "at once"', () => {
    expect(resolveRunAt({ delaySeconds: 90 }, NOW)?.toISOString()).toBe('2026-06-01T12:01:30.000Z');
    expect(resolveRunAt({ runAt: '2026-06-01T14:00:00+02:00' }, NOW)).toBeUndefined();
    expect(resolveRunAt({ runAt: '2026-06-02T00:00:00Z' }, NOW)?.getTime()).toBe(
      NOW + 12 * 3_600_000,
    );
    expect(resolveRunAt({}, NOW)).toBeUndefined();
  });

  it('refuses both options, and more than a year ahead, naming the field', () => {
    expect(
      refusedField(() => resolveRunAt({ runAt: '2027-01-01T00:00:00Z', delaySeconds: 1 }, NOW)),
    ).toEqual(['delaySeconds']);
    expect(refusedField(() => resolveRunAt({ runAt: '2028-01-01T00:00:00Z' }, NOW))).toEqual([
      'runAt',
    ]);
    const names = { runAt: 'run_at', delay: 'delay' };
    expect(refusedField(() => resolveRunAt({ delaySeconds: 400 * 86_400, names }, NOW))).toEqual([
      'delay',
    ]);
  });
});

describe('cron rules', () => {
  it('reads 5 fields, or 6 with seconds, in a time zone', () => {
    const from = new Date(NOW);
    expect(nextTick({ cron: '0 3 * * *', timezone: 'Europe/Berlin' }, from)?.toISOString()).toBe(
      '2026-06-02T01:00:00.000Z',
    );
    expect(nextTick({ cron: '*/10 * * * * *', timezone: 'UTC' }, from)?.toISOString()).toBe(
      '2026-06-01T12:00:10.000Z',
    );
  });

  it.each([
    ['* * *', 'UTC', 'cron'],
    ['* * * * * * *', 'UTC', 'cron'],
    ['0 25 * * *', 'UTC', 'cron'],
    ['* * * * *', 'Nowhere/Else', 'timezone'],
  ])('refuses %s in %s, naming %s', (cron, timezone, field) => {
    expect(refusedField(() => parseCron({ cron, timezone }))).toEqual([field]);
  });

  it('runs only the latest of the ticks missed while nothing was up', () => {
    const rule = { cron: '0 * * * *', timezone: 'UTC' };
    const due = new Date('2026-06-01T08:00:00Z');
    expect(latestTick(rule, due, new Date(NOW + 60_000)).toISOString()).toBe(
      '2026-06-01T12:00:00.000Z',
    );
    expect(latestTick(rule, due, due).toISOString()).toBe(due.toISOString());
  });
});

describe('--in durations', () => {
  it.each([
    ['90s', 90],
    ['10m', 600],
    ['2h', 7200],
    ['1d', 86_400],
    ['45', 45],
  ])('%s is %i seconds', (text, seconds) => expect(duration(text)).toBe(seconds));

  it('refuses anything else', () => expect(() => duration('soon')).toThrow(/duration/));
});
