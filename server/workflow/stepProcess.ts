// How a step's process is started: what bashStep.ts asks for and hears back, whoever forks it.
// `spawnDirect` forks from this process; the StepLauncher (stepLauncher.ts) from a small helper
// process, because fork costs grow with the memory of the process that forks.
import { spawn } from 'node:child_process';

/** One process to start, detached (a process group of its own), stdin closed, output piped. */
export interface StepCommand {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  uid?: number | undefined;
  gid?: number | undefined;
}

/**
 * What the process does, as it happens. Called in this order: start, data…, exit; or error.
 * Whoever forks the step kills its group when it exits, so nothing it started outlives it.
 */
export interface StepProcessHandlers {
  /** It runs, with this pid (= its process group id). */
  onStart(pid: number): void;
  onData(chunk: Buffer, isStderr: boolean): void;
  /** It could not start, or the helper that started it is gone. No exit follows. */
  onError(message: string): void;
  /** It exited, and whatever it left running in its process group was killed with it. */
  onExit(exitCode: number | null, signal: NodeJS.Signals | null): void;
  /** Both output pipes are closed (before or after the exit). */
  onOutputClosed(): void;
}

export interface StepProcess {
  /** Stops reading output that something outside the group still holds open. */
  abandonOutput(): void;
}

export type SpawnStep = (command: StepCommand, handlers: StepProcessHandlers) => StepProcess;

/** Forks the step from this process. */
export const spawnDirect: SpawnStep = (command, handlers) => {
  const child = spawn(command.file, command.args, {
    cwd: command.cwd,
    env: command.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: command.uid,
    gid: command.gid,
  });
  let open = 2;
  const closed = () => {
    open -= 1;
    if (open === 0) handlers.onOutputClosed();
  };
  child.on('error', (error) => handlers.onError(error.message));
  if (child.pid !== undefined) handlers.onStart(child.pid);
  child.stdout.on('data', (chunk: Buffer) => handlers.onData(chunk, false));
  child.stderr.on('data', (chunk: Buffer) => handlers.onData(chunk, true));
  child.stdout.once('close', closed);
  child.stderr.once('close', closed);
  child.on('exit', (exitCode, signal) => {
    killStepGroup(child.pid);
    handlers.onExit(exitCode, signal);
  });
  return {
    abandonOutput() {
      child.stdout.destroy();
      child.stderr.destroy();
    },
  };
};

/** SIGKILL to what a step left running in its group (Linux: the group outlives its leader). */
export function killStepGroup(pgid: number | undefined): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: nothing is left.
  }
}
