// An error the CLI reports as it is: its message is written for the person at the terminal, and
// it carries the exit code to end with.
import type { ExitCode } from './exitCodes.js';

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
