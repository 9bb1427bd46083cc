// Task ids are `task-<unix nanoseconds>-<n>`, as in the demo guide. `n` is the row's id from the
// database sequence, so two servers sharing one database can never hand out the same id.

// Date.now() only has milliseconds; anchor the monotonic high-resolution clock to it once.
const anchorNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Nanoseconds since the Unix epoch. */
export function unixNanos(): bigint {
  return anchorNs + process.hrtime.bigint();
}

export const TASK_ID_PATTERN = /^task-\d{19}-\d+$/;
