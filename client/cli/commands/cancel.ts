// `cancel <id>`: stops a pending or running task.
import type { Command } from 'commander';
import { action, type CliContext } from '../action.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { statusStyle } from '../format.js';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel a pending or running task (a running one has its steps stopped)')
    .argument('<id>', 'the task id')
    .addHelpText('after', '\nWith --json: {"id", "status", "message"}.')
    .action(action<[string]>(cancel));
}

async function cancel(ctx: CliContext, [id]: [string]): Promise<ExitCode> {
  const result = await ctx.client.cancelTask(id);
  if (ctx.json) ctx.out.line(JSON.stringify(result, null, 2));
  else
    ctx.out.line(
      `${result.message} ${statusStyle(result.status, ctx.out.color)(`(${result.status})`)}`,
    );
  return EXIT.ok;
}
