// Runs a command's action: resolves the settings, makes the SDK client, and reports any failure
// (a message on stderr; with --json a JSON object there) with its exit code.
import type { Command } from 'commander';
import { createQueueClient, type QueueClient } from '@innominatus-queue/client';
import { resolveSettings, type Settings } from './config.js';
import { describeError, type ErrorContext } from './describeError.js';
import type { ExitCode } from './exitCodes.js';
import { createOutput, type Output } from './format.js';

/** The options every command takes (declared on the program). */
export interface GlobalOptions {
  url?: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
  color: boolean;
}

export interface CliContext {
  /** `--json`: only JSON on stdout. */
  readonly json: boolean;
  readonly out: Output;
  readonly err: Output;
  readonly settings: Settings;
  readonly client: QueueClient;
}

export type ActionHandler<A extends (string | string[])[], O> = (
  ctx: CliContext,
  args: A,
  options: O,
) => Promise<ExitCode>;

/**
 * Adapts a handler to commander, which calls actions with the arguments, then the command's
 * options, then the command.
 */
export function action<A extends (string | string[])[], O = Record<string, never>>(
  handler: ActionHandler<A, O>,
  hints: Omit<ErrorContext, 'settings'> = {},
): (...raw: unknown[]) => Promise<void> {
  return async (...raw) => {
    const command = raw[raw.length - 1] as Command;
    const args = raw.slice(0, -2) as A;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const json = globals.json === true;
    const out = createOutput(process.stdout, globals.color && !json);
    const err = createOutput(process.stderr, globals.color);
    let settings: Settings | undefined;
    try {
      settings = resolveSettings(globals, process.env);
      const client = createQueueClient({ url: settings.url, token: settings.token });
      process.exitCode = await handler(
        { json, out, err, settings, client },
        args,
        command.opts<O & Record<string, unknown>>(),
      );
    } catch (error) {
      const report = describeError(error, { settings, ...hints });
      if (json) {
        const { exitCode, ...body } = report;
        err.line(JSON.stringify({ error: { ...body, exit_code: exitCode } }));
      } else {
        err.line(`${err.color.red('error:')} ${report.message}`);
      }
      process.exitCode = report.exitCode;
    }
  };
}
