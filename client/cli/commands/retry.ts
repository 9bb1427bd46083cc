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
    .option(
      '--from-failed',
      'start at the first step that failed, in the working directory it left (failed tasks)',
    )
    .addHelpText('after', '\nWith --json: {"id", "status", "message"}.')
    .action(action<[string], RetryOptions>(retry));
}

interface RetryOptions {
  fromFailed?: boolean;
}

async function retry(ctx: CliContext, [id]: [string], options: RetryOptions): Promise<ExitCode> {
  const result = await ctx.client.retryTask(id, { from: options.fromFailed ? 'failed' : 'start' });
  if (ctx.json) ctx.out.line(JSON.stringify(result, null, 2));
  else
    ctx.out.line(
      `${result.message} ${statusStyle(result.status, ctx.out.color)(`(${result.status})`)}`,
    );
  return EXIT.ok;
}
