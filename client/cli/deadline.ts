// Waiting with a limit: a promise that rejects with a clear message when time runs out.
import { CliError } from './cliError.js';
import { EXIT } from './exitCodes.js';
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
