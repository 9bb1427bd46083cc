// `stats [--watch]`: the queue's figures; --watch follows them live through the onStats
// subscription (no polling), redrawn in place on a terminal, one line per change otherwise.
import type { Command } from 'commander';
import type { QueueStats } from '@innominatus-queue/client';
import { action, type CliContext } from '../action.js';
import { EXIT, type ExitCode } from '../exitCodes.js';
import { renderStats, statsLine } from '../format.js';
import { untilInterrupted } from '../waiting.js';
import type { Output } from '../format.js';

interface StatsOptions {
  watch?: boolean;
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('show the queue stats; --watch follows them live (Ctrl-C to stop)')
    .option('--watch', 'keep the stats on screen, updated as they change')
    .addHelpText(
      'after',
      '\nWith --json: the stats object; with --watch --json: one object per line.',
    )
    .action(action<[], StatsOptions>(stats));
}

async function stats(ctx: CliContext, _args: [], options: StatsOptions): Promise<ExitCode> {
  // A plain read first: it says clearly when the server cannot be reached or refuses, where a
  // subscription would keep trying to connect.
  const first = await ctx.client.queueStats();
  if (!options.watch) {
    if (ctx.json) ctx.out.line(JSON.stringify(first, null, 2));
    else printStats(ctx, first);
    return EXIT.ok;
  }
  return watch(ctx, first);
}

function printStats(ctx: CliContext, value: QueueStats): void {
  ctx.out.line(`Queue stats of ${ctx.settings.url}`);
  for (const line of renderStats(value, ctx.out.color)) ctx.out.line(line);
}

async function watch(ctx: CliContext, first: QueueStats): Promise<ExitCode> {
  const show = ctx.json
    ? (value: QueueStats) => ctx.out.line(JSON.stringify(value))
    : ctx.out.isTTY
      ? redrawInPlace(ctx.out, ctx.settings.url)
      : (value: QueueStats) => ctx.out.line(`${new Date().toISOString()} ${statsLine(value)}`);
  let last = JSON.stringify(first);
  show(first);

  let subscription: { unsubscribe(): void } | undefined;
  // Unsubscribing completes the stream too; only an end we did not ask for is reported.
  let leaving = false;
  const ended = new Promise<ExitCode>((resolve, reject) => {
    subscription = ctx.client.onStats({
      onData: (value) => {
        // The stream opens with the current stats, which are usually the ones just shown.
        const text = JSON.stringify(value);
        if (text === last) return;
        last = text;
        show(value);
      },
      onError: reject,
      onComplete: () => {
        if (leaving) return;
        ctx.err.line('The server closed the stats stream (is it shutting down?).');
        resolve(EXIT.unreachable);
      },
    });
  });
  try {
    const result = await untilInterrupted(ended);
    return result === 'interrupted' ? EXIT.ok : result;
  } finally {
    leaving = true;
    subscription?.unsubscribe();
  }
}

/** Draws the stats block, then on each change moves the cursor back up and draws it again. */
function redrawInPlace(out: Output, url: string): (value: QueueStats) => void {
  let drawn = 0;
  return (value) => {
    const c = out.color;
    const lines = [
      `${c.bold('Queue stats')} of ${url} ${c.dim(`· ${new Date().toLocaleTimeString()} · live, Ctrl-C to stop`)}`,
      ...renderStats(value, c),
    ];
    // Up to the first line of the last drawing, and clear from there down.
    if (drawn > 0) out.write(`\x1b[${drawn}A\r\x1b[J`);
    out.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
}
