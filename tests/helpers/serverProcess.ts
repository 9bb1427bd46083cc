// Starts the real server as a child process (`node --import tsx server/index.ts`), the way
// `npm start` runs it, and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { waitFor } from './waitFor.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const liveProcesses = new Set<ChildProcess>();

export interface ServerProcess {
  child: ChildProcess;
  lines: () => Record<string, any>[];
  output: () => string;
  /** Resolves with the first log line whose message matches. */
  waitForLog: (pattern: RegExp, timeoutMs?: number) => Promise<Record<string, any>>;
  /** The port from the "Server listening on :PORT" line. */
  port: () => Promise<number>;
  url: () => Promise<string>;
  /** Sends a signal and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  exited: Promise<number | null>;
}

export function startServerProcess(
  env: Record<string, string>,
  options: { cwd?: string } = {},
): ServerProcess {
  // By path: Node resolves `--import tsx` from the working directory, which may be elsewhere.
  const tsx = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', tsx, path.join(ROOT, 'server/index.ts')], {
    cwd: options.cwd ?? ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_FORMAT: 'json',
      PORT: '0',
      HOST: '127.0.0.1',
      // As in testServer.ts: steps unisolated unless a test turns the sandbox on.
      STEP_SANDBOX: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveProcesses.add(child);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      liveProcesses.delete(child);
      resolve(code);
    }),
  );
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
  const waitForLog = (pattern: RegExp, timeoutMs = 30_000) =>
    waitFor(() => lines().find((l) => typeof l.msg === 'string' && pattern.test(l.msg)), {
      timeoutMs,
      what: `log line ${pattern}`,
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message} (output: ${out.slice(-2000)})`);
    });
  const port = async () =>
    Number(/:(\d+)$/.exec((await waitForLog(/^Server listening on :\d+$/)).msg)![1]);
  return {
    child,
    lines,
    output: () => out,
    waitForLog,
    port,
    url: async () => `http://127.0.0.1:${await port()}`,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
