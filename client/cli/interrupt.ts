// Ctrl-C while a command waits (for a task, on a live view): the command decides what it means.

/**
 * Calls `handler` on Ctrl-C (SIGINT) or SIGTERM instead of dying at once, so a command can stop
 * its streams and say where things stand. Returns the function that removes it.
 */
export function onInterrupt(handler: () => void): () => void {
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Waits for `work`, or for Ctrl-C / SIGTERM, whichever comes first. */
export async function untilInterrupted<T>(work: Promise<T>): Promise<T | 'interrupted'> {
  let off = () => {};
  const interrupted = new Promise<'interrupted'>((resolve) => {
    off = onInterrupt(() => resolve('interrupted'));
  });
  try {
    return await Promise.race([work, interrupted]);
  } finally {
    off();
  }
}
