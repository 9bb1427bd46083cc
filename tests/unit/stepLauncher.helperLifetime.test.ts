// The StepLauncher's helper process and the steps it forked: when the server dies, the helper
// kills every step's process group; when the helper dies, the server kills them and the steps end
// (killed) instead of hanging; and a closed launcher refuses new steps.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { StepLauncher } from '../../server/workflow/stepLauncher.js';
import { isAlive, liveGroupMembers } from '../helpers/processes.js';
import { waitFor } from '../helpers/waitFor.js';
import { useBashHarness } from './support/bashHarness.js';
import { moduleUrl, runNodeScript, startNodeScript } from './support/nodeScript.js';

const bash = useBashHarness();
const launchers: StepLauncher[] = [];
afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.close()));
});

function launcher(): StepLauncher {
  const created = new StepLauncher(pino({ level: 'silent' }));
  launchers.push(created);
  return created;
}

/** The pids of the children of `pid` (Linux: /proc/<pid>/task/<pid>/children). */
async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text
    .split(' ')
    .filter((s) => s.trim() !== '')
    .map(Number);
}

describe('when the helper dies', () => {
  it('the server kills the groups of its steps, and they end as killed', async () => {
    const steps = launcher();
    let pgid = 0;
    const running = bash.run({
      command: 'sleep 30 & echo $! > pidfile; echo ready; sleep 30',
      timeoutMs: 60_000,
      spawn: steps.spawn,
      onSpawn: (pid) => (pgid = pid),
    });
    await waitFor(() => pgid > 0, { what: 'the step to start' });
    const background = await waitFor(() => bash.readPid('pidfile').catch(() => undefined), {
      what: 'the background pid',
    });
    // The helper is the step's parent: kill it as an OOM killer would.
    const helperPid = Number(
      readFileSync(`/proc/${pgid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1],
    );
    expect(await childrenOf(helperPid)).toContain(pgid);
    process.kill(helperPid, 'SIGKILL');
    const result = await running;
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
    await bash.waitUntilGroupGone(pgid);
    await bash.waitUntilGone(background);
    // A new helper takes the next step, and forks as the last one did: a SIGKILL is no crash.
    const next = await bash.run({ command: 'echo again', spawn: steps.spawn });
    expect(next).toMatchObject({ exitCode: 0, output: 'again\n' });
    expect(await steps.forker()).toBe('posix_spawn');
  });

  it('of a crash while forking with posix_spawn, the next helpers fork with fork', async () => {
    const steps = launcher();
    expect(await steps.forker()).toBe('posix_spawn');
    const helperPid = Number(
      (await bash.run({ command: 'echo $PPID', spawn: steps.spawn })).output,
    );
    // What a fault in the FFI would end it with (and no core file left behind).
    execFileSync('prlimit', ['--pid', String(helperPid), '--core=0']);
    process.kill(helperPid, 'SIGSEGV');
    // Once the launcher has heard of the exit, the next helper forks with fork.
    await waitFor(async () => (await steps.forker()) === 'fork', {
      what: 'a helper that forks with fork',
    });
    const next = await bash.run({ command: 'echo $PPID', spawn: steps.spawn });
    expect(next.exitCode).toBe(0);
    expect(Number(next.output)).not.toBe(helperPid);
  });
});

describe('when the server dies', () => {
  it('the helper kills every step group at once', async () => {
    const script = `
      const { runBashStep } = await import(process.argv[1]);
      const { StepLauncher } = await import(process.argv[2]);
      const { default: pino } = await import('pino');
      const launcher = new StepLauncher(pino({ level: 'silent' }));
      for (const name of ['one', 'two']) {
        void runBashStep({
          command: 'sleep 30 & echo $! > ' + name + '.pid; echo ready; sleep 30',
          cwd: process.argv[3],
          env: { PATH: process.env.PATH },
          timeoutMs: 60_000,
          killGraceMs: 1_000,
          outputLimitBytes: 1_024,
          signal: new AbortController().signal,
          spawn: launcher.spawn,
          onSpawn: (pid) => console.log('pgid ' + pid),
          onOutput: (chunk) => { if (String(chunk).includes('ready')) console.log('ready'); },
        });
      }
    `;
    const server = startNodeScript(
      script,
      moduleUrl('server/workflow/bashStep.ts'),
      moduleUrl('server/workflow/stepLauncher.ts'),
      bash.dir,
    );
    let pgids: number[] = [];
    try {
      await waitFor(() => server.output().split('ready').length === 3, {
        timeoutMs: 15_000,
        what: 'both steps to start in the child server',
      });
      pgids = [...server.output().matchAll(/pgid (\d+)/g)].map((m) => Number(m[1]));
      expect(pgids).toHaveLength(2);
      const background = [await bash.readPid('one.pid'), await bash.readPid('two.pid')];
      server.child.kill('SIGKILL');
      await server.exited;
      for (const pgid of pgids) await bash.waitUntilGroupGone(pgid);
      for (const pid of background) await bash.waitUntilGone(pid);
    } finally {
      server.child.kill('SIGKILL');
      for (const pgid of pgids) {
        if (liveGroupMembers(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
      }
    }
  });
});

describe('a closed launcher', () => {
  it('stops its helper, and refuses new steps with a clear error', async () => {
    const steps = launcher();
    const run = (command: string) => bash.run({ command, spawn: steps.spawn });
    // The step's parent is the helper.
    const helperPid = Number((await run('echo $PPID')).output.trim());
    expect(helperPid).not.toBe(process.pid);
    expect(isAlive(helperPid)).toBe(true);
    await steps.close();
    expect(isAlive(helperPid)).toBe(false);
    expect((await run('true')).spawnError).toMatch(/launcher is closed/);
  });
});

describe('a launcher asked how it forks', () => {
  it('answers though nothing else keeps the process alive, and then lets it exit', async () => {
    const script = `
      const { StepLauncher } = await import(process.argv[1]);
      const { default: pino } = await import('pino');
      const launcher = new StepLauncher(pino({ level: 'silent' }));
      console.log('forker ' + (await launcher.forker()));
    `;
    // The helper keeps running, unreferenced, until this process exits and closes its channel.
    const run = await runNodeScript(script, moduleUrl('server/workflow/stepLauncher.ts'));
    expect(run).toMatchObject({ exitCode: 0, stdout: 'forker posix_spawn\n', stderr: '' });
  });
});
