// Runs one bash step: `bash --noprofile --norc -eo pipefail -c <command>` (the convention of
// GitHub Actions: stop at the first failing command) in its own process group, with only the
// environment the queue gives it. A timeout or a cancel stops the whole group: SIGTERM, then
// SIGKILL after a grace period. Whatever the step left running in its group is killed when it
// ends, so no orphan outlives its step. And if the server itself dies (SIGKILL, OOM), the group is
// killed too, so the task is recovered elsewhere and its old run does not carry on unseen: a
// server forks its steps through a StepLauncher (stepLauncher.ts), whose helper kills every
// step's group when the server's channel closes; a step forked here directly gets a watchdog in
// its group that notices within a second. In the sandbox (stepSandbox.ts) bubblewrap's
// `--die-with-parent` takes the watchdog's place: the server's pid is out of sight there.
import fs from 'node:fs';
import { OutputTail } from './outputTail.js';
import { spawnDirect, type SpawnStep } from './stepProcess.js';

export interface BashStepOptions {
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  killGraceMs: number;
  outputLimitBytes: number;
  signal: AbortSignal;
  /** Run as this uid/gid (when the server runs as root and STEP_USER is set). */
  uid?: number | undefined;
  gid?: number | undefined;
  /** Every chunk as it arrives, with the tail kept so far. */
  onOutput?: ((chunk: Buffer, tail: { text: () => string; bytes: number }) => void) | undefined;
  onSpawn?: ((pid: number) => void) | undefined;
  /** Runs the shell under this program and its arguments (bwrap and its sandbox options). */
  sandbox?: { file: string; args: string[] } | undefined;
  /**
   * Who forks the step; default: this process, with a watchdog in the step's group. A server
   * passes its StepLauncher's, whose helper does the watchdog's job for every step at once.
   */
  spawn?: SpawnStep | undefined;
}

export interface BashStepResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  output: string;
  outputBytes: number;
  stderrLastLine: string;
  /** Set when bash could not even start. */
  spawnError?: string;
}

// Starts the watchdog (silent, detached from the pipes) and replaces itself with the step's shell,
// which keeps this pid and process group. Neither the server's pid nor anything else of the
// wrapper reaches the step's environment.
const WATCHDOG = [
  // `ps` too: a step running as another user (STEP_USER) may not signal the server.
  '( while kill -0 "$1" 2>/dev/null || ps -p "$1" >/dev/null 2>&1; do sleep 1; done; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &',
  'exec bash --noprofile --norc -eo pipefail -c "$2"',
].join('\n');

/** Signals every process of group `pgid` but its leader (Linux: read from /proc). */
function signalGroupExcept(pgid: number, signal: NodeJS.Signals): void {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name) && name !== String(pgid));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The fields after the command name (in parentheses, maybe with spaces): state ppid pgrp.
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp === pgid) process.kill(Number(pid), signal);
    } catch {
      // gone meanwhile
    }
  }
}

/** How long to wait for the pipes to drain after the step's process exits. */
const DRAIN_MS = 1_000;

export function runBashStep(options: BashStepOptions): Promise<BashStepResult> {
  const output = new OutputTail(options.outputLimitBytes);
  const stderrTail = new OutputTail(8 * 1024);
  return new Promise((resolve) => {
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let pid: number | undefined;
    /** What was asked of the group before its pid was known (a launcher answers later). */
    const whenStarted: ((pid: number) => void)[] = [];
    const withPid = (fn: (pid: number) => void) => {
      if (pid === undefined) whenStarted.push(fn);
      else fn(pid);
    };

    const shell = ['--noprofile', '--norc', '-eo', 'pipefail', '-c', options.command];
    const [file, args] = options.sandbox
      ? [options.sandbox.file, [...options.sandbox.args, 'bash', ...shell]]
      : options.spawn
        ? ['bash', shell]
        : [
            'bash',
            ['--noprofile', '--norc', '-c', WATCHDOG, 'bash', String(process.pid), options.command],
          ];

    const killGroup = (signal: NodeJS.Signals) =>
      withPid((group) => {
        try {
          process.kill(-group, signal);
        } catch {
          // ESRCH: the group is already gone.
        }
      });
    const stop = () => {
      // bwrap dies of a SIGTERM and takes its sandbox with it at once: the step's processes get
      // theirs without bwrap, so they have STEP_KILL_GRACE to clean up, as without the sandbox.
      if (options.sandbox) withPid((group) => signalGroupExcept(group, 'SIGTERM'));
      else killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), options.killGraceMs);
    };

    const timeout = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      // A run whose lease is gone may already be running elsewhere: no grace period.
      if (options.signal.reason === 'lease-lost') killGroup('SIGKILL');
      else stop();
    };

    const finish = (
      exitCode: number | null,
      signal: NodeJS.Signals | null,
      spawnError?: string,
    ) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      if (drainTimer) clearTimeout(drainTimer);
      options.signal.removeEventListener('abort', onAbort);
      resolve({
        exitCode,
        signal,
        timedOut,
        aborted,
        output: output.text(),
        outputBytes: output.total,
        stderrLastLine: stderrTail.lastLine(),
        ...(spawnError ? { spawnError } : {}),
      });
    };

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let outputClosed = false;
    const spawnStep = options.spawn ?? spawnDirect;
    const child = spawnStep(
      { file, args, cwd: options.cwd, env: options.env, uid: options.uid, gid: options.gid },
      {
        onStart(started) {
          pid = started;
          options.onSpawn?.(started);
          for (const fn of whenStarted.splice(0)) fn(started);
        },
        onData(chunk, isStderr) {
          output.push(chunk);
          if (isStderr) stderrTail.push(chunk);
          options.onOutput?.(chunk, { text: () => output.text(), bytes: output.total });
        },
        onError(message) {
          finish(null, null, message);
        },
        onExit(code, signal) {
          // Anything the step started in the background died with it (the forker killed its group).
          exit = { code, signal };
          if (outputClosed) {
            finish(code, signal);
            return;
          }
          // A grandchild that left the group may still hold the pipes open: stop waiting for it.
          drainTimer = setTimeout(() => {
            child.abandonOutput();
            finish(code, signal);
          }, DRAIN_MS);
        },
        onOutputClosed() {
          outputClosed = true;
          if (exit) finish(exit.code, exit.signal);
        },
      },
    );
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
  });
}
