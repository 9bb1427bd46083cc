// `schedule set|list|show|pause|resume|delete`: stored schedules that enqueue a Score spec on a
// cron expression.
import type { Command } from 'commander';
import type { ScheduleDetail, ScheduleSummary, ScoreSpec } from '@innominatus-queue/client';
import { action, type CliContext } from '../action.js';
import { integerIn } from '../argParsers.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { formatTimestamp, renderPairs, renderTable } from '../format.js';
import { readSpecFiles } from '../specFile.js';
import { CliError } from '../exitCodes.js';
import { renderTaskHistory } from '../taskTables.js';

interface SetOptions {
  cron: string;
  timezone?: string;
  goldenPath?: string;
  priority?: number;
}

export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description(
      'enqueue a Score spec on a cron expression (set, list, show, pause, resume, delete)',
    );
  schedule
    .command('set')
    .description('create or replace a schedule')
    .argument('<name>', 'the schedule name')
    .argument('<file>', 'the Score spec (YAML or JSON; - reads stdin)')
    .requiredOption('--cron <expr>', "5 fields, or 6 with seconds first, e.g. '0 3 * * *'")
    .option('--timezone <zone>', 'IANA time zone the expression is read in (default: UTC)')
    .option('--golden-path <name>', "golden path to run (default: the server's, deploy-app)")
    .option('--priority <n>', 'higher runs first, -1000..1000 (default: 0)', integerIn(-1000, 1000))
    .action(
      action<[string, string], SetOptions>(set, { fieldPrefix: 'spec.', subject: 'schedule' }),
    );
  schedule.command('list').description('list the schedules').action(action<[]>(list));
  schedule
    .command('show')
    .description('one schedule: its next runs and its latest tasks')
    .argument('<name>', 'the schedule name')
    .action(action<[string]>(show));
  for (const [verb, text] of [
    ['pause', 'stop a schedule from enqueueing'],
    ['resume', 'let a paused schedule enqueue again, from its next tick'],
    ['delete', 'remove a schedule (its tasks stay)'],
  ] as const) {
    schedule
      .command(verb)
      .description(text)
      .argument('<name>', 'the schedule name')
      .action(action<[string]>((ctx, [name]) => change(ctx, verb, name)));
  }
}

async function set(
  ctx: CliContext,
  [name, file]: [string, string],
  options: SetOptions,
): Promise<ExitCode> {
  const sources = await readSpecFiles([file]);
  if (sources.length !== 1) {
    throw new CliError(`${file} holds ${sources.length} specs; a schedule runs one.`, EXIT.refused);
  }
  const spec = sources[0]!.spec as ScoreSpec;
  const detail = await ctx.client.putSchedule(name, {
    cron: options.cron,
    timezone: options.timezone,
    spec,
    golden_path: options.goldenPath,
    priority: options.priority,
  });
  if (ctx.json) ctx.out.line(JSON.stringify(detail, null, 2));
  else printDetail(ctx, detail);
  return EXIT.ok;
}

async function list(ctx: CliContext): Promise<ExitCode> {
  const { schedules } = await ctx.client.schedules();
  if (ctx.json) ctx.out.line(JSON.stringify({ schedules }, null, 2));
  else if (schedules.length === 0) ctx.out.line('No schedules.');
  else for (const line of scheduleTable(ctx, schedules)) ctx.out.line(line);
  return EXIT.ok;
}

async function show(ctx: CliContext, [name]: [string]): Promise<ExitCode> {
  const detail = await ctx.client.schedule(name);
  if (ctx.json) ctx.out.line(JSON.stringify(detail, null, 2));
  else printDetail(ctx, detail);
  return EXIT.ok;
}

async function change(
  ctx: CliContext,
  verb: 'pause' | 'resume' | 'delete',
  name: string,
): Promise<ExitCode> {
  const result =
    verb === 'pause'
      ? await ctx.client.pauseSchedule(name)
      : verb === 'resume'
        ? await ctx.client.resumeSchedule(name)
        : await ctx.client.deleteSchedule(name);
  ctx.out.line(ctx.json ? JSON.stringify(result, null, 2) : result.message);
  return EXIT.ok;
}

function scheduleTable(ctx: CliContext, schedules: ScheduleSummary[]): string[] {
  const c = ctx.out.color;
  return renderTable(
    [
      { header: 'name' },
      { header: 'cron' },
      { header: 'timezone' },
      { header: 'app' },
      { header: 'next run' },
      { header: 'last run' },
    ],
    schedules.map((s) => [
      s.name,
      s.cron,
      s.timezone,
      s.app_name,
      s.paused ? c.yellow('paused') : formatTimestamp(s.next_run_at),
      formatTimestamp(s.last_run_at),
    ]),
    c,
  );
}

function printDetail(ctx: CliContext, s: ScheduleDetail): void {
  const c = ctx.out.color;
  ctx.out.line(`${c.bold(`Schedule ${s.name}`)}${s.paused ? `  ${c.yellow('paused')}` : ''}`);
  const pairs: [string, string][] = [
    ['cron', `${s.cron} (${s.timezone})`],
    ['app_name', `${s.app_name} (golden path ${s.golden_path})`],
    ['priority', String(s.priority)],
    ['next_runs', s.next_runs.map(formatTimestamp).join(', ') || '-'],
    ['last_run_at', formatTimestamp(s.last_run_at)],
    ['created_by', s.created_by],
  ];
  for (const line of renderPairs(pairs, c)) ctx.out.line(line);
  if (s.last_tasks.length > 0) {
    ctx.out.line();
    ctx.out.line(c.bold('Latest tasks'));
    for (const line of renderTaskHistory(s.last_tasks, c)) ctx.out.line(`  ${line}`);
  }
}
