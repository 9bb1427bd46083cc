// What the StepLauncher's helper tells the server of a step: its start, its output, and its end. A
// step whose pipes close with it ends in one message (exit and close together) rather than two,
// and the server still hears every handler in order: start, data, exit, output closed.
import type { ChildProcess } from 'node:child_process';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { StepLauncher } from '../../server/workflow/stepLauncher.js';

const launchers: StepLauncher[] = [];
afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.close()));
});

function run(
  steps: StepLauncher,
  command: string,
): Promise<{ calls: string[]; output: string; code: number | null; at: Record<string, number> }> {
  return new Promise((resolve) => {
    const calls: string[] = [];
    /** When the exit and the close were heard (performance.now). */
    const at: Record<string, number> = {};
    let output = '';
    let code: number | null = null;
    steps.spawn(
      {
        file: 'bash',
        args: ['--noprofile', '--norc', '-c', command],
        cwd: '/',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      },
      {
        onStart: () => calls.push('start'),
        onData: (chunk) => {
          if (calls.at(-1) !== 'data') calls.push('data');
          output += chunk.toString();
        },
        onError: (message) => {
          calls.push(`error: ${message}`);
          resolve({ calls, output, code, at });
        },
        onExit: (exitCode) => {
          code = exitCode;
          at.exit = performance.now();
          calls.push('exit');
        },
        onOutputClosed: () => {
          at.closed = performance.now();
          calls.push('closed');
          if (calls.includes('exit')) resolve({ calls, output, code, at });
        },
      },
    );
  });
}

describe("the step launcher's messages", () => {
  it('a quick step ends in one message, and the handlers still run in order', async () => {
    const steps = new StepLauncher(pino({ level: 'silent' }));
    launchers.push(steps);
    // The helper starts with the first step; listen to what it sends from the second on.
    expect(await run(steps, 'true')).toMatchObject({
      calls: ['start', 'exit', 'closed'],
      output: '',
      code: 0,
    });
    const helper = (steps as unknown as { helper: ChildProcess }).helper;
    const kinds: string[] = [];
    helper.on('message', (message: { t: string }) => kinds.push(message.t));
    for (let i = 0; i < 5; i++) {
      const ended = await run(steps, `echo out-${i}; echo err-${i} >&2; exit ${i}`);
      expect(ended.calls).toEqual(['start', 'data', 'exit', 'closed']);
      expect(ended.code).toBe(i);
      expect(ended.output).toContain(`out-${i}`);
      expect(ended.output).toContain(`err-${i}`);
    }
    // Per step: start, its output (one or two chunks), and one message for the end.
    expect(kinds.filter((k) => k === 'start')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'done')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'exit' || k === 'closed')).toEqual([]);
  });

  it('a step whose pipes outlive it is reported exited first, then closed', async () => {
    const steps = new StepLauncher(pino({ level: 'silent' }));
    launchers.push(steps);
    // A process out of the step's group holds the pipes for a while after the step exits.
    // The step ends only once the sleeper has a session of its own (the group's kill at the
    // step's exit would otherwise still reach it).
    const ended = await run(
      steps,
      'setsid sleep 1.5 & until [ "$(ps -o sid= -p $! | tr -d " ")" = "$!" ]; do :; done; echo "escapee $!"',
    );
    expect(ended.calls).toEqual(['start', 'data', 'exit', 'closed']);
    expect(ended.code).toBe(0);
    // The exit was not held until the pipes closed (the server then kills the group and stops
    // waiting for the output after a while; here the sleeper ends first).
    expect(ended.at.closed! - ended.at.exit!).toBeGreaterThan(500);
    const escapee = Number(/escapee (\d+)/.exec(ended.output)?.[1]);
    try {
      process.kill(escapee, 'SIGKILL');
    } catch {
      // gone already
    }
  });
});
