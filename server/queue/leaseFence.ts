// When a node must stop the runs it can no longer prove it holds. A lease is renewed by a
// statement that sets `lease_expires_at = now() + lease` on the database; the node does not know
// when the database ran it, only when it sent it. Measured from that send time, the lease cannot
// end sooner than `lease` later, so a node that stops its runs at `sent + lease - margin` has
// stopped them before any other node may recover them (recovery needs `lease_expires_at < now()`),
// whatever happened to the statement's answer: lost, late or never sent back.

export interface LeaseTiming {
  leaseMs: number;
  heartbeatMs: number;
}

/**
 * Time kept in hand before the lease ends: for the fence check's own cadence, a late timer and
 * the kill itself (SIGKILL to the step's process group, which takes effect at once).
 */
export function fenceMarginMs({ leaseMs }: LeaseTiming): number {
  return leaseMs / 5;
}

/**
 * How long a heartbeat may wait for its answer. An answer proves the lease from the heartbeat's
 * send time, so a slow one still counts; but one stuck behind a dead connection must give its
 * connection up in time for the next heartbeats (two may be in flight) to get through before the
 * deadline.
 */
export function heartbeatTimeoutMs(timing: LeaseTiming): number {
  return (timing.leaseMs - fenceMarginMs(timing)) / 2;
}

/** How long a claim may wait for its answer: later, its leases could not be proven anyway. */
export function claimTimeoutMs(timing: LeaseTiming): number {
  return timing.leaseMs - fenceMarginMs(timing);
}

/** How often the node compares its clock with its runs' deadlines. */
export function fenceCheckMs(timing: LeaseTiming): number {
  return Math.max(10, Math.min(500, fenceMarginMs(timing) / 4));
}

/** The last moment a run whose lease was renewed by a statement sent at `sentAt` may still run. */
export function fenceDeadline(sentAt: number, timing: LeaseTiming): number {
  return sentAt + timing.leaseMs - fenceMarginMs(timing);
}
