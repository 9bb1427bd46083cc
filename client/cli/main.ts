#!/usr/bin/env node
// The `innominatus-queue` command (alias `iq`): the SDK from a terminal or a script. This file
// wires the commands into commander; each command lives in commands/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerActive } from './commands/active.js';
import { registerDemo } from './commands/demo.js';
import { registerEnqueue } from './commands/enqueue.js';
import { registerGoldenPaths } from './commands/goldenPaths.js';
import { registerLogs } from './commands/logs.js';
import { registerPause } from './commands/pause.js';
import { registerSchedule } from './commands/schedule.js';
import { registerStats } from './commands/stats.js';
import { registerTask } from './commands/task.js';
import { registerTaskActions } from './commands/taskActions.js';
import { registerTasks } from './commands/tasks.js';
import { DEFAULT_URL } from './config.js';
import { EXIT, EXIT_CODES_HELP } from './exitCodes.js';

/** The version for --version, from the root package.json above this file (client/cli/ under tsx,
 * dist/client/cli/ once built). */
function packageVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'innominatus-queue' && pkg.version) return pkg.version;
    } catch {
      // No package.json here: look further up.
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

function createProgram(): Command {
  const program = new Command('innominatus-queue')
    .description(
      'Talk to an innominatus-queue server: enqueue Score specs, watch the queue, manage tasks.',
    )
    .version(packageVersion(), '-V, --version')
    .option('--url <url>', `server URL (env QUEUE_URL, config file "url"; default ${DEFAULT_URL})`)
    .option('--token <token>', 'bearer token (env QUEUE_TOKEN, config file "token")')
    .option('--token-file <file>', 'read the bearer token from a file (env QUEUE_TOKEN_FILE)')
    .option('--json', 'machine-readable JSON on stdout, and errors as JSON on stderr')
    .option('--no-color', 'no colours, even on a terminal (NO_COLOR works too)')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Also installed as \`iq\`. Settings: a flag wins over the environment, which wins over the
config file $XDG_CONFIG_HOME/innominatus-queue/config.json (else
~/.config/innominatus-queue/config.json), e.g. {"url": "http://localhost:8081", "token": "..."}.

${EXIT_CODES_HELP}`,
    )
    // Commands inherit this: commander throws instead of exiting, so usage errors get their code.
    .exitOverride();
  registerEnqueue(program);
  registerGoldenPaths(program);
  registerStats(program);
  registerActive(program);
  registerTasks(program);
  registerTask(program);
  registerLogs(program);
  registerTaskActions(program);
  registerPause(program);
  registerSchedule(program);
  registerDemo(program);
  return program;
}

async function main(): Promise<void> {
  // `iq tasks | head -3`: a closed pipe ends the command quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw error;
  });
  try {
    await createProgram().parseAsync(process.argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Help and --version end with 0; commander has already printed its message otherwise.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  // Every command closes what it opened; should a stray socket linger, do not hang on it.
  setTimeout(() => process.exit(), 2_000).unref();
}

await main();
