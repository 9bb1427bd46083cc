// `pause [--app A]`, `resume [--app A]`, `paused`: stop and restart new claims, cluster-wide or
// for one application (admin token), and show what is paused.
import type { Command } from 'commander';
import type { Pauses } from '@innominatus-queue/client';
import { action, type CliContext } from '../action.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { formatTimestamp } from '../format.js';

interface PauseOptions {
  app?: string;
}

export function registerPause(program: Command): void {
  program
    .command('pause')
    .description('stop starting tasks (running ones finish), cluster-wide or for one application')
    .option('--app <name>', 'only this application')
    .addHelpText('after', '\nWith --json: {"app_name", "paused", "message"}.')
    .action(action<[], PauseOptions>((ctx, _args, o) => change(ctx, o, true)));
  program
    .command('resume')
    .description('start tasks again after `pause`')
    .option('--app <name>', 'only this application')
    .addHelpText('after', '\nWith --json: {"app_name", "paused", "message"}.')
    .action(action<[], PauseOptions>((ctx, _args, o) => change(ctx, o, false)));
  program
    .command('paused')
    .description('show what is paused')
    .addHelpText('after', '\nWith --json: {"cluster_paused", "pauses": [...]}.')
    .action(action<[]>(paused));
}

async function change(ctx: CliContext, options: PauseOptions, pause: boolean): Promise<ExitCode> {
  const input = options.app === undefined ? {} : { app_name: options.app };
  const result = pause ? await ctx.client.pauseQueue(input) : await ctx.client.resumeQueue(input);
  ctx.out.line(ctx.json ? JSON.stringify(result, null, 2) : result.message);
  return EXIT.ok;
}

async function paused(ctx: CliContext): Promise<ExitCode> {
  const result: Pauses = await ctx.client.pauses();
  if (ctx.json) ctx.out.line(JSON.stringify(result, null, 2));
  else if (result.pauses.length === 0) ctx.out.line('Nothing is paused.');
  else {
    for (const p of result.pauses) {
      ctx.out.line(
        `${p.app_name === null ? ctx.out.color.bold('the whole queue') : `application ${p.app_name}`} paused by ${p.paused_by} at ${formatTimestamp(p.paused_at)}`,
      );
    }
  }
  return EXIT.ok;
}
