// `cancel <id>` and `retry <id> [--from-failed]`: one implementation for the two task actions.
import type { Command } from 'commander';
import type { QueueClient, TaskAction } from '@innominatus-queue/client';
import { action, type CliContext } from '../action.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { statusStyle } from '../format.js';

interface ActionOptions {
  fromFailed?: boolean;
}

const ACTIONS = [
  {
    name: 'cancel',
    description: 'cancel a pending or running task (a running one has its steps stopped)',
    options: [] as [string, string][],
    run: (client: QueueClient, id: string) => client.cancelTask(id),
  },
  {
    name: 'retry',
    description: 'queue a failed or cancelled task again',
    options: [
      [
        '--from-failed',
        'start at the first step that failed, in the working directory it left (failed tasks)',
      ],
    ] as [string, string][],
    run: (client: QueueClient, id: string, options: ActionOptions) =>
      client.retryTask(id, { from: options.fromFailed ? 'failed' : 'start' }),
  },
] as const;

export function registerTaskActions(program: Command): void {
  for (const { name, description, options, run } of ACTIONS) {
    const command = program.command(name).description(description).argument('<id>', 'the task id');
    for (const [flags, help] of options) command.option(flags, help);
    command
      .addHelpText('after', '\nWith --json: {"id", "status", "message"}.')
      .action(
        action<[string], ActionOptions>((ctx, [id], opts) =>
          report(ctx, run(ctx.client, id, opts)),
        ),
      );
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
