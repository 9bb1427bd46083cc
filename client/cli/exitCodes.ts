// The CLI's exit codes, one closed set: scripts can tell a failed task from a refused request
// from an unreachable server. Listed in `innominatus-queue --help`. And CliError, which ends a
// command with one of them.
import type { FinishedStatus } from '../../shared/taskStatus.js';

export const EXIT = {
  /** Done; with `--wait` or `--follow`: the task completed. */
  ok: 0,
  /** With `--wait` or `--follow`: the task failed. */
  taskFailed: 1,
  /** With `--wait` or `--follow`: the task was cancelled. */
  taskCancelled: 2,
  /** The request was refused (invalid spec, token, unknown task, …) or the input is unusable. */
  refused: 3,
  /** The server could not be reached, or did not answer in time: trying again may help. */
  unreachable: 4,
  /** Unknown command or option, or a bad argument. */
  usage: 64,
  /** Stopped with Ctrl-C while waiting for a task (the task itself goes on). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0    success; with --wait or --follow: the task completed
  1    the task failed (--wait, --follow)
  2    the task was cancelled (--wait, --follow)
  3    refused: invalid spec or spec file, missing or wrong token, unknown task, bad config file
  4    the server could not be reached or did not answer in time
  64   usage error (unknown command or option, bad argument)
  130  interrupted with Ctrl-C while waiting (the task goes on)`;

/** The exit code that reports a finished task's outcome. */
export function exitCodeForStatus(status: FinishedStatus): ExitCode {
  switch (status) {
    case 'completed':
      return EXIT.ok;
    case 'failed':
      return EXIT.taskFailed;
    case 'cancelled':
      return EXIT.taskCancelled;
  }
}

/**
 * An error the CLI reports as it is: its message is written for the person at the terminal, and
 * it carries the exit code to end with.
 */
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
