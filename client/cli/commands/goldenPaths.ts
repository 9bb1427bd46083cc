// `golden-paths`: the golden paths a spec may run, with their steps (what a developer token may
// enqueue).
import type { Command } from 'commander';
import { action, type CliContext } from '../action.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { plural } from '../format.js';

export function registerGoldenPaths(program: Command): void {
  program
    .command('golden-paths')
    .description('list the golden paths a spec may run, with their steps')
    .addHelpText(
      'after',
      '\nWith --json: {"count", "golden_paths": [...]}, as GET /api/golden-paths.',
    )
    .action(action<[]>(goldenPaths));
}

async function goldenPaths(ctx: CliContext): Promise<ExitCode> {
  const result = await ctx.client.goldenPaths();
  if (ctx.json) {
    ctx.out.line(JSON.stringify(result, null, 2));
    return EXIT.ok;
  }
  ctx.out.line(`${plural(result.count, 'golden path')} on ${ctx.settings.url}`);
  for (const path of result.golden_paths) {
    ctx.out.line('');
    ctx.out.line(
      `${ctx.out.color.bold(path.name)}${path.default ? ' (default)' : ''}  ${path.description}`,
    );
    for (const step of path.steps) {
      ctx.out.line(`  - ${step.name}${step.description ? `: ${step.description}` : ''}`);
    }
  }
  return EXIT.ok;
}
