// Runs bash steps in a fresh temp dir per test, and fails the test if a step's process group is
// still running afterwards (then kills it, so nothing outlives the test).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { waitFor } from '../../helpers/waitFor.js';
import {
  runBashStep,
  type BashStepOptions,
  type BashStepResult,
} from '../../../server/workflow/bashStep.js';
import { StepLauncher } from '../../../server/workflow/stepLauncher.js';
import { isAlive, liveGroupMembers } from '../../helpers/processes.js';

/**
 * Who forks the steps: the test process itself, or a StepLauncher's helper (as a server does),
 * with posix_spawn (its default) or with Node's spawn (where koffi cannot load, or for a step
 * that runs as another user).
 */
export type ForkedBy = 'direct' | 'launcher' | 'launcher with fork';
export const FORKED_BY: ForkedBy[] = ['direct', 'launcher', 'launcher with fork'];

export interface BashHarness {
  /** This test's working directory. */
  readonly dir: string;
  run(options: Partial<BashStepOptions> & { command: string }): Promise<BashStepResult>;
  /** Waits (with a deadline) until the process is gone; fails if it is not. */
  waitUntilGone(pid: number): Promise<void>;
  /**
   * Waits (with a deadline) until no process of the group runs. Members are SIGKILLed as the
   * step ends, but a signalled process takes a moment to die, so this waits rather than looks.
   */
  waitUntilGroupGone(pgid: number): Promise<void>;
  /** Reads a pid a step wrote to a file in its directory. */
  readPid(file: string): Promise<number>;
}

export const stepPath = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';

async function waitUntilGroupGone(pgid: number): Promise<void> {
  await waitFor(() => liveGroupMembers(pgid).length === 0, {
    timeoutMs: 5_000,
    what: `process group ${pgid} of a step to end`,
  });
}

export function useBashHarness(options: { via?: ForkedBy } = {}): BashHarness {
  let dir = '';
  const groups: number[] = [];
  let launcher: StepLauncher | undefined;

  beforeAll(async () => {
    if (options.via === undefined || options.via === 'direct') return;
    const posixSpawn = options.via === 'launcher';
    launcher = new StepLauncher(pino({ level: 'silent' }), { posixSpawn });
    // The tests would pass either way: make sure they ran the path they name.
    expect(await launcher.forker()).toBe(posixSpawn ? 'posix_spawn' : 'fork');
  });
  afterAll(async () => {
    await launcher?.close();
  });

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bash-step-test-'));
  });

  afterEach(async () => {
    const spawned = groups.splice(0);
    try {
      for (const pgid of spawned) await waitUntilGroupGone(pgid);
    } finally {
      for (const pgid of spawned) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // Already gone, as it should be.
        }
      }
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  return {
    get dir() {
      return dir;
    },
    run(runOptions) {
      return runBashStep({
        cwd: dir,
        env: { PATH: stepPath },
        timeoutMs: 10_000,
        killGraceMs: 500,
        outputLimitBytes: 64 * 1024,
        signal: new AbortController().signal,
        spawn: launcher?.spawn,
        ...runOptions,
        onSpawn: (pid) => {
          groups.push(pid);
          runOptions.onSpawn?.(pid);
        },
      });
    },
    async waitUntilGone(pid) {
      await waitFor(() => !isAlive(pid), { timeoutMs: 5_000, what: `process ${pid} to end` });
    },
    waitUntilGroupGone,
    async readPid(file) {
      const pid = Number((await fs.readFile(path.join(dir, file), 'utf8')).trim());
      if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in ${file}`);
      return pid;
    },
  };
}
