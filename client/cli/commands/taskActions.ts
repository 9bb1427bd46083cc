// `cancel <id>` and `retry <id>`: one implementation for the two task actions.
import type { Command } from 'commander';
import type { QueueClient, TaskAction } from '@innominatus-queue/client';
import { action, type CliContext } from '../action.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { statusStyle } from '../format.js';

const ACTIONS = [
  {
    name: 'cancel',
    description: 'cancel a pending or running task (a running one has its steps stopped)',
    run: (client: QueueClient, id: string) => client.cancelTask(id),
  },
  {
    name: 'retry',
    description: 'queue a failed or cancelled task again',
    run: (client: QueueClient, id: string) => client.retryTask(id),
  },
] as const;

export function registerTaskActions(program: Command): void {
  for (const { name, description, run } of ACTIONS) {
    program
      .command(name)
      .description(description)
      .argument('<id>', 'the task id')
      .addHelpText('after', '\nWith --json: {"id", "status", "message"}.')
      .action(action<[string]>((ctx, [id]) => report(ctx, run(ctx.client, id))));
  }
}

async function report(ctx: CliContext, answer: Promise<TaskAction>): Promise<ExitCode> {
  const result = await answer;
  if (ctx.json) ctx.out.line(JSON.stringify(result, null, 2));
  else
    ctx.out.line(
      `${result.message} ${statusStyle(result.status, ctx.out.color)(`(${result.status})`)}`,
    );
  return EXIT.ok;
}
