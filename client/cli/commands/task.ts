// `task <id>`: one task in full: its record, its steps, the errors of failed attempts.
import type { Command } from 'commander';
import type { TaskDetail } from '@innominatus-queue/client';
import { action, type CliContext } from '../action.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import {
  formatDuration,
  formatTimestamp,
  millisBetween,
  renderPairs,
  renderTable,
  statusCell,
  statusStyle,
} from '../format.js';

export function registerTask(program: Command): void {
  program
    .command('task')
    .description('show one task: its state, steps and errors')
    .argument('<id>', 'the task id, e.g. task-1759770010965128000-10')
    .addHelpText('after', '\nWith --json: the whole task record, spec and step output included.')
    .action(action<[string]>(task));
}

async function task(ctx: CliContext, [id]: [string]): Promise<ExitCode> {
  const detail = await ctx.client.task(id);
  if (ctx.json) ctx.out.line(JSON.stringify(detail, null, 2));
  else printTask(ctx, detail);
  return EXIT.ok;
}

function printTask(ctx: CliContext, t: TaskDetail): void {
  const c = ctx.out.color;
  const out = ctx.out;
  out.line(`${c.bold(`Task ${t.id}`)}  ${statusStyle(t.status, c)(t.status)}`);
  const pairs: [string, string][] = [
    ['app_name', t.app_name],
    ['workflow_name', `${t.workflow_name} (golden path ${t.golden_path})`],
    ['priority', String(t.priority)],
    ['attempts', `${t.attempts} of ${t.max_attempts}`],
    ['enqueued_at', formatTimestamp(t.enqueued_at)],
    ['started_at', formatTimestamp(t.started_at)],
    ['completed_at', formatTimestamp(t.completed_at)],
    ['total_time', formatDuration(millisBetween(t.enqueued_at, t.completed_at))],
    ['submitted_by', `${t.metadata.user} (${t.metadata.source})`],
  ];
  if (t.locked_by) pairs.push(['running_on', t.locked_by]);
  if (t.cancel_requested_at)
    pairs.push(['cancel_requested', formatTimestamp(t.cancel_requested_at)]);
  if (t.error_message) pairs.push(['error', c.red(t.error_message)]);
  for (const line of renderPairs(pairs, c)) out.line(line);

  out.line();
  out.line(c.bold('Steps'));
  const rows = t.steps.map((step) => [
    String(step.position + 1),
    step.name,
    step.type,
    statusCell(step.status, c),
    step.exit_code === null ? '-' : String(step.exit_code),
    formatDuration(step.duration_ms),
    step.error ?? '',
  ]);
  const table = renderTable(
    [
      { header: '#', align: 'right' },
      { header: 'name' },
      { header: 'type' },
      { header: 'status' },
      { header: 'exit', align: 'right' },
      { header: 'duration', align: 'right' },
      { header: 'error' },
    ],
    rows,
    c,
  );
  for (const line of table) out.line(`  ${line}`);

  if (t.errors.length > 0) {
    out.line();
    out.line(c.bold('Failed attempts'));
    for (const e of t.errors) {
      out.line(
        `  attempt ${e.attempt} at ${formatTimestamp(e.at)}${e.node ? ` on ${e.node}` : ''}: ${e.error}`,
      );
    }
  }
  out.line();
  out.line(c.dim(`Output: innominatus-queue logs ${t.id}`));
}
