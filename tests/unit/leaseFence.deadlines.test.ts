// The fence's arithmetic: a run stops strictly before its lease can end, a heartbeat gives up
// early enough to be retried before the deadline, and the check runs often enough to matter.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fenceCheckMs,
  fenceDeadline,
  fenceMarginMs,
  heartbeatTimeoutMs,
} from '../../server/queue/leaseFence.js';

describe('lease fence', () => {
  it('holds for every valid lease and heartbeat', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 600_000 }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.integer({ min: 0, max: 1e9 }),
        (leaseMs, ratio, sentAt) => {
          const timing = { leaseMs, heartbeatMs: leaseMs * ratio };
          const deadline = fenceDeadline(sentAt, timing);
          expect(deadline).toBeLessThan(sentAt + leaseMs);
          expect(deadline - sentAt).toBeGreaterThan(leaseMs / 2);
          // The check runs several times within the margin, so a late one still stops in time.
          expect(fenceCheckMs(timing)).toBeLessThanOrEqual(Math.max(10, fenceMarginMs(timing) / 4));
          // A heartbeat that times out leaves room for another before the deadline.
          expect(heartbeatTimeoutMs(timing)).toBeLessThanOrEqual((deadline - sentAt) / 2 + 1e-6);
        },
      ),
    );
  });

  it('with the defaults (10 s lease, 2 s heartbeat) stops runs 8 s after the last renewal sent', () => {
    const timing = { leaseMs: 10_000, heartbeatMs: 2_000 };
    expect(fenceDeadline(1_000, timing)).toBe(9_000);
    expect(heartbeatTimeoutMs(timing)).toBe(4_000);
  });
});
