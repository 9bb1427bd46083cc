// The StepLauncher's helper forks with posix_spawn (through koffi) where it can, and with Node's
// spawn otherwise: both find the program on the step's PATH, refuse what a C string cannot carry,
// report a program that cannot start the same way, and reap every step of a crowd that ends at
// once (SIGCHLDs coalesce: one signal may stand for many exits).
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepLauncher, type StepForker } from '../../server/workflow/stepLauncher.js';
import type { StepCommand } from '../../server/workflow/stepProcess.js';

interface Ended {
  pid?: number;
  error?: string;
  code?: number | null;
  signal?: NodeJS.Signals | null;
  output: string;
}

function run(steps: StepLauncher, command: StepCommand): Promise<Ended> {
  return new Promise((resolve) => {
    const ended: Ended = { output: '' };
    let exited = false;
    let closed = false;
    steps.spawn(command, {
      onStart: (pid) => (ended.pid = pid),
      onData: (chunk) => (ended.output += chunk.toString()),
      onError: (message) => resolve({ ...ended, error: message }),
      onExit: (code, signal) => {
        Object.assign(ended, { code, signal });
        exited = true;
        if (closed) resolve(ended);
      },
      onOutputClosed: () => {
        closed = true;
        if (exited) resolve(ended);
      },
    });
  });
}

describe.each<StepForker>(['posix_spawn', 'fork'])('a helper that forks with %s', (forker) => {
  let steps: StepLauncher;
  let dir = '';
  const bash = (script: string, env: Record<string, string> = { PATH: '/usr/bin:/bin' }) =>
    run(steps, { file: 'bash', args: ['--noprofile', '--norc', '-c', script], cwd: dir, env });

  beforeAll(async () => {
    steps = new StepLauncher(pino({ level: 'silent' }), { posixSpawn: forker === 'posix_spawn' });
    expect(await steps.forker()).toBe(forker);
    dir = await mkdtemp(path.join(os.tmpdir(), 'step-launcher-'));
  });
  afterAll(async () => {
    await steps.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("finds the program on the step's PATH, not the server's", async () => {
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'greet'), '#!/bin/sh\necho "hello $1"\n');
    await chmod(path.join(bin, 'greet'), 0o755);
    // Not executable: passed over, as execvp does.
    await writeFile(path.join(bin, 'bash'), 'not a program\n');
    const env = { PATH: `${bin}:/usr/bin:/bin` };
    const greeted = await run(steps, { file: 'greet', args: ['you'], cwd: dir, env });
    expect(greeted).toMatchObject({ code: 0, output: 'hello you\n' });
    expect(await bash('echo $0', env)).toMatchObject({ code: 0, output: 'bash\n' });
    const missing = await run(steps, { file: 'greet', args: [], cwd: dir, env: { PATH: '/bin' } });
    expect(missing).toMatchObject({ error: 'spawn greet ENOENT', output: '' });
    expect(missing.pid).toBeUndefined();
  });

  it('reports a program or a directory that is not there, and starts nothing', async () => {
    const program = '/no/such/program';
    expect(await run(steps, { file: program, args: [], cwd: dir, env: {} })).toMatchObject({
      error: `spawn ${program} ENOENT`,
    });
    const cwd = path.join(dir, 'missing');
    expect(await run(steps, { file: 'bash', args: ['-c', 'true'], cwd, env: {} })).toMatchObject({
      error: 'spawn bash ENOENT',
    });
  });

  it('refuses a NUL byte in an argument or a variable, and runs nothing', async () => {
    const marker = path.join(dir, 'ran');
    const inArgument = await bash(`touch ${marker}\0; echo cut`);
    expect(inArgument.error).toMatch(/null bytes|NUL byte/);
    const inVariable = await bash(`touch ${marker}`, { PATH: '/usr/bin:/bin', X: 'a\0b' });
    expect(inVariable.error).toMatch(/null bytes|NUL byte/);
    expect(existsSync(marker)).toBe(false);
    // And the helper goes on.
    expect(await bash('echo still here')).toMatchObject({ code: 0, output: 'still here\n' });
  });

  it('leaves out a variable without a value, as Node does', async () => {
    const env = { PATH: '/usr/bin:/bin', UNSET: undefined } as unknown as Record<string, string>;
    expect(await bash('echo "${UNSET-left out}"', env)).toMatchObject({ output: 'left out\n' });
  });

  it('names a signal as Node does', async () => {
    // Numbers with two names: 6 (SIGABRT, SIGIOT) and 29 (SIGIO, SIGPOLL).
    expect(await bash('kill -ABRT $$')).toMatchObject({ code: null, signal: 'SIGABRT' });
    expect(await bash('kill -IO $$')).toMatchObject({ code: null, signal: 'SIGIO' });
  });

  it('reports the exit code or the signal of every step of a crowd that ends at once', async () => {
    const crowd = Array.from({ length: 60 }, (_, i) =>
      bash(i % 3 === 2 ? 'kill -TERM $$' : `echo ${i}; exit ${i % 7}`),
    );
    const ended = await Promise.all(crowd);
    ended.forEach((step, i) => {
      if (i % 3 === 2) expect(step).toMatchObject({ code: null, signal: 'SIGTERM', output: '' });
      else expect(step).toMatchObject({ code: i % 7, signal: null, output: `${i}\n` });
    });
    expect(new Set(ended.map((step) => step.pid)).size).toBe(60);
  });
});
