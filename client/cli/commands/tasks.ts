// `tasks`: the task history, newest first, a page at a time.
import { type Command, Option } from 'commander';
import { TASK_LIST_MAX, taskListStatusSchema, type TaskListStatus } from '../../../shared/tasks.js';
import { action, type CliContext } from '../action.js';
import { integerIn } from '../argParsers.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { plural } from '../format.js';
import { renderTaskHistory } from '../taskTables.js';

interface TasksOptions {
  status?: TaskListStatus;
  app?: string;
  limit?: number;
  cursor?: string;
}

export function registerTasks(program: Command): void {
  program
    .command('tasks')
    .description('list tasks, newest first')
    .addOption(
      new Option(
        '--status <status>',
        'only tasks in this state (scheduled: pending until a later run_at)',
      ).choices(taskListStatusSchema.options),
    )
    .option('--app <name>', 'only tasks of this application')
    .option(
      '--limit <n>',
      `tasks per page, 1..${TASK_LIST_MAX} (default: 50)`,
      integerIn(1, TASK_LIST_MAX),
    )
    .option('--cursor <cursor>', 'the next page: the cursor printed under the previous one')
    .addHelpText('after', '\nWith --json: {"tasks": [...], "next_cursor"}.')
    .action(action<[], TasksOptions>(tasks));
}

async function tasks(ctx: CliContext, _args: [], options: TasksOptions): Promise<ExitCode> {
  const page = await ctx.client.tasks({
    status: options.status,
    app: options.app,
    limit: options.limit,
    cursor: options.cursor,
  });
  if (ctx.json) {
    ctx.out.line(JSON.stringify(page, null, 2));
    return EXIT.ok;
  }
  if (page.tasks.length === 0) {
    ctx.out.line('No tasks.');
    return EXIT.ok;
  }
  for (const line of renderTaskHistory(page.tasks, ctx.out.color)) ctx.out.line(line);
  ctx.out.line(ctx.out.color.dim(`(${plural(page.tasks.length, 'task')}; times in UTC)`));
  if (page.next_cursor !== null) {
    ctx.out.line(ctx.out.color.dim(`More: add --cursor ${page.next_cursor}`));
  }
  return EXIT.ok;
}
