// `logs <id> [--follow]`: a task's log (each step's output after a `==> step <name>` line);
// --follow prints what is there, then the output as it comes, until the task ends.
import type { Command } from 'commander';
import { action, type CliContext } from '../action.js';
import { EXIT, exitCodeForStatus, type ExitCode } from '../exitCodes.js';
import { untilInterrupted } from '../waiting.js';
import { followTask } from '../taskFollower.js';
import { jsonLinesView, logView, outcomeLine } from '../taskViews.js';

interface LogsOptions {
  follow?: boolean;
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("print a task's log; --follow streams it until the task ends")
    .argument('<id>', 'the task id')
    .option(
      '-f, --follow',
      'keep printing output as the task runs; exit 0 completed, 1 failed, 2 cancelled',
    )
    .addHelpText(
      'after',
      '\nWith --json: {"id", "attempt", "status", "text", "complete", ...}; with --follow --json: one task event per line.',
    )
    .action(action<[string], LogsOptions>(logs));
}

async function logs(ctx: CliContext, [id]: [string], options: LogsOptions): Promise<ExitCode> {
  if (!options.follow) {
    const log = await ctx.client.taskLogs(id);
    if (ctx.json) ctx.out.line(JSON.stringify(log, null, 2));
    else ctx.out.write(log.text === '' || log.text.endsWith('\n') ? log.text : `${log.text}\n`);
    return EXIT.ok;
  }
  // A plain read first: unreachable servers and unknown tasks are reported at once (a
  // subscription would keep trying to connect).
  await ctx.client.task(id);
  const follow = followTask(ctx.client, id, ctx.json ? jsonLinesView(ctx.out) : logView(ctx.out));
  const result = await untilInterrupted(follow.finished);
  if (result === 'interrupted') {
    follow.stop();
    ctx.err.line(`Stopped following ${id}; the task goes on.`);
    return EXIT.interrupted;
  }
  if (!ctx.json) ctx.err.line(outcomeLine(result, ctx.err));
  return exitCodeForStatus(result.status);
}
