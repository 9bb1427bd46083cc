// Runs an ES module snippet in a fresh Node process (TypeScript modules load through tsx), for
// behaviour that could crash the test worker or that needs a process to die.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A file URL of a module of ours, for the snippet to `await import(...)`. */
export function moduleUrl(pathFromRoot: string): string {
  return new URL(pathFromRoot, new URL(`file://${repoRoot}`)).href;
}

function nodeArgs(script: string, args: string[]): string[] {
  return ['--import', 'tsx', '--input-type=module', '-e', script, ...args];
}

export interface NodeRun {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs the snippet to its end (killed after 30 s). */
export function runNodeScript(script: string, ...args: string[]): Promise<NodeRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      nodeArgs(script, args),
      { cwd: repoRoot, timeout: 30_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: unknown; signal?: string | null }) | null;
        resolve({
          exitCode: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** Starts the snippet and returns at once; `output()` is its stdout so far. */
export function startNodeScript(
  script: string,
  ...args: string[]
): { child: ChildProcess; output: () => string; exited: Promise<void> } {
  const child = spawn(process.execPath, nodeArgs(script, args), {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, output: () => output, exited };
}
