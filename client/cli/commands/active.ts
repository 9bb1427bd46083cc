// `active`: the tasks running now.
import type { Command } from 'commander';
import { action, type CliContext } from '../action.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { plural } from '../format.js';
import { renderActiveTasks } from '../taskTables.js';

export function registerActive(program: Command): void {
  program
    .command('active')
    .description('list the tasks running now')
    .addHelpText(
      'after',
      '\nWith --json: {"count", "tasks": [...]}, as GET /api/queue/active-tasks.',
    )
    .action(action<[]>(active));
}

async function active(ctx: CliContext): Promise<ExitCode> {
  const result = await ctx.client.activeTasks();
  if (ctx.json) {
    ctx.out.line(JSON.stringify(result, null, 2));
    return EXIT.ok;
  }
  ctx.out.line(`${plural(result.count, 'active task')}`);
  if (result.count > 0)
    for (const line of renderActiveTasks(result.tasks, ctx.out.color)) ctx.out.line(line);
  return EXIT.ok;
}
