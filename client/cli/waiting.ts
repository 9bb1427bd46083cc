// Waiting with limits: for a promise until a deadline, or until Ctrl-C / SIGTERM (the command
// decides what an interruption means).
import { CliError, EXIT } from './exitCodes.js';
import { formatDuration } from './format.js';

/** `work`, or a CliError (exit code: unreachable) naming `what` once `ms` have passed. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CliError(
            `Timed out after ${formatDuration(ms)} waiting for ${what}.`,
            EXIT.unreachable,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

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
