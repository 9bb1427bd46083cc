// Queue servers as child processes of the benchmark, from the built code
// (`node dist/server/index.js`), logging at warn. Every child is tracked so that it is stopped at
// the end, and killed if the benchmark itself dies.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { BenchDatabase } from './database.js';

/** The token servers accept from the benchmark (API_TOKENS). */
export const BENCH_TOKEN = 'bench-token-0123456789';
export const AUTH_HEADER = { authorization: `Bearer ${BENCH_TOKEN}` };

export interface ServerOptions {
  /** QUEUE_CONCURRENCY: 0 makes an API-only node. */
  concurrency: number;
  /** Shown in errors and used to name CPU profiles. */
  label: string;
  /** More environment (overrides the defaults). */
  env?: Record<string, string>;
}

export interface BenchServer {
  readonly pid: number;
  readonly url: string;
  readonly label: string;
  /** Milliseconds from spawn to GET /ready answering 200. */
  readonly startupMs: number;
  /** VmRSS and VmHWM (peak) from /proc/<pid>/status, in MiB. */
  memory(): Promise<{ rssMiB: number; peakMiB: number }>;
  /** Graceful stop (SIGTERM); SIGKILL if it has not exited after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  /** Warning and error log lines the server printed. */
  problems(): string[];
}

export interface ServerLauncher {
  start(db: BenchDatabase, options: ServerOptions): Promise<BenchServer>;
  /** Stops every server still running (gracefully, then by force). */
  stopAll(): Promise<void>;
  /** The warning and error lines of the servers stopped since the last call, with their label. */
  takeProblems(): string[];
}

export interface LauncherOptions {
  /** The project root (where dist/ is). */
  root: string;
  /** When set, servers run with --cpu-prof and write their profiles under this folder. */
  profileDir?: string | undefined;
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort: whatever is still running when the benchmark process exits is killed. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
}

export function createServerLauncher(options: LauncherOptions): ServerLauncher {
  installExitHook();
  const running = new Set<BenchServer>();
  let problems: string[] = [];
  return {
    async start(db, serverOptions) {
      const server = await startServer(db, serverOptions, options);
      running.add(server);
      const stop = server.stop.bind(server);
      return Object.assign(server, {
        stop: async (timeoutMs?: number) => {
          await stop(timeoutMs);
          if (running.delete(server)) {
            problems.push(...server.problems().map((line) => `${server.label}: ${line}`));
          }
        },
      });
    },
    async stopAll() {
      await Promise.all([...running].map((s) => s.stop(10_000).catch(() => undefined)));
      running.clear();
    },
    takeProblems() {
      const taken = problems;
      problems = [];
      return taken;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function startServer(
  db: BenchDatabase,
  options: ServerOptions,
  launcher: LauncherOptions,
): Promise<BenchServer> {
  const detach = await db.attach();
  const port = await freePort();
  const nodeArgs: string[] = [];
  if (launcher.profileDir) {
    const dir = path.join(launcher.profileDir, options.label);
    await fs.mkdir(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, path.join(launcher.root, 'dist/server/index.js')],
    {
      cwd: launcher.root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        API_TOKENS: `${BENCH_TOKEN}:bench`,
        QUEUE_CONCURRENCY: String(options.concurrency),
        SHUTDOWN_TIMEOUT: '5',
        // `STEP_SANDBOX=off npm run bench` measures steps without the bubblewrap sandbox.
        ...(process.env.STEP_SANDBOX ? { STEP_SANDBOX: process.env.STEP_SANDBOX } : {}),
        ...db.env,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  let output = '';
  const problems: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-64 * 1024);
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      if (problems.length < 50) problems.push(line.slice(0, 500));
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child);
      detach();
      resolve(code);
    });
  });
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(
        `server ${options.label} exited with code ${exitCode} during start-up:\n${output.slice(-3000)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server ${options.label} not ready after 60 s:\n${output.slice(-3000)}`);
    }
    try {
      const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const startupMs = performance.now() - started;
  const pid = child.pid!;

  return {
    pid,
    url,
    label: options.label,
    startupMs,
    async memory() {
      const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
      const kib = (field: string) =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
      return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
    },
    async stop(timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    problems: () => [...problems],
  };
}
