// `retry <id>`: queues a failed or cancelled task again.
import type { Command } from 'commander';
import { action, type CliContext } from '../action.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { statusStyle } from '../format.js';

export function registerRetry(program: Command): void {
  program
    .command('retry')
    .description('queue a failed or cancelled task again')
    .argument('<id>', 'the task id')
    .addHelpText('after', '\nWith --json: {"id", "status", "message"}.')
    .action(action<[string]>(retry));
}

async function retry(ctx: CliContext, [id]: [string]): Promise<ExitCode> {
  const result = await ctx.client.retryTask(id);
  if (ctx.json) ctx.out.line(JSON.stringify(result, null, 2));
  else
    ctx.out.line(
      `${result.message} ${statusStyle(result.status, ctx.out.color)(`(${result.status})`)}`,
    );
  return EXIT.ok;
}
