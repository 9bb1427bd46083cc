// runBashStep stops the whole process group: on timeout (SIGTERM, then SIGKILL after the grace
// period), on abort, and when a step ends with something still running in the background.
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORKED_BY, useBashHarness } from './support/bashHarness.js';
import { waitFor } from '../helpers/waitFor.js';
import { moduleUrl, startNodeScript } from './support/nodeScript.js';
import { isAlive, liveGroupMembers } from '../helpers/processes.js';

describe.each(FORKED_BY)('forked %s', (via) => {
  const bash = useBashHarness({ via });

  describe('timeout', () => {
    it('kills the step and what it started in the background', async () => {
      let pgid = 0;
      const started = performance.now();
      const result = await bash.run({
        command: 'sleep 30 & echo $! > pidfile; sleep 30',
        timeoutMs: 500,
        killGraceMs: 200,
        onSpawn: (pid) => {
          pgid = pid;
        },
      });
      const elapsed = performance.now() - started;
      expect(result).toMatchObject({ timedOut: true, aborted: false, exitCode: null });
      expect(result.signal).toBe('SIGTERM');
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(5_000);
      await bash.waitUntilGone(await bash.readPid('pidfile'));
      await bash.waitUntilGroupGone(pgid);
    });

    it('sends SIGKILL after the grace period to a step that ignores SIGTERM', async () => {
      const started = performance.now();
      const result = await bash.run({
        command: "trap '' TERM; sleep 30 & echo $! > pidfile; sleep 30",
        timeoutMs: 300,
        killGraceMs: 300,
      });
      const elapsed = performance.now() - started;
      expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
      expect(elapsed).toBeGreaterThanOrEqual(550);
      expect(elapsed).toBeLessThan(5_000);
      await bash.waitUntilGone(await bash.readPid('pidfile'));
    });

    it('does not fire for a step that finishes in time', async () => {
      const result = await bash.run({ command: 'echo quick', timeoutMs: 5_000 });
      expect(result).toMatchObject({ timedOut: false, exitCode: 0 });
    });
  });

  describe('abort', () => {
    it('stops a running step and its process group', async () => {
      const controller = new AbortController();
      let pgid = 0;
      const result = await bash.run({
        command: 'sleep 30 & echo $! > pidfile; echo ready; sleep 30',
        signal: controller.signal,
        onSpawn: (pid) => {
          pgid = pid;
        },
        onOutput: (chunk) => {
          if (chunk.toString().includes('ready')) controller.abort();
        },
      });
      expect(result).toMatchObject({ aborted: true, timedOut: false, exitCode: null });
      expect(result.output).toBe('ready\n');
      await bash.waitUntilGone(await bash.readPid('pidfile'));
      await bash.waitUntilGroupGone(pgid);
    });

    it('stops at once when the signal was aborted before the start', async () => {
      const started = performance.now();
      const result = await bash.run({
        command: 'sleep 30',
        signal: AbortSignal.abort(),
      });
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(result).toMatchObject({ aborted: true, exitCode: null });
    });

    it('leaves no abort listener on the signal once the step has ended', async () => {
      const controller = new AbortController();
      let pgid = 0;
      const result = await bash.run({
        command: 'echo done',
        signal: controller.signal,
        onSpawn: (pid) => {
          pgid = pid;
        },
      });
      controller.abort();
      expect(result.aborted).toBe(false);
      await bash.waitUntilGroupGone(pgid);
    });
  });

  describe('when a step ends', () => {
    it('kills what it left running in the background, without waiting for it', async () => {
      let pgid = 0;
      const started = performance.now();
      const result = await bash.run({
        command: 'sleep 30 & echo $! > pidfile; (sleep 30; echo late) & echo done',
        onSpawn: (pid) => {
          pgid = pid;
        },
      });
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(result).toMatchObject({ exitCode: 0, timedOut: false, aborted: false });
      expect(result.output).toBe('done\n');
      await bash.waitUntilGone(await bash.readPid('pidfile'));
      await bash.waitUntilGroupGone(pgid);
    });

    it('kills background processes of a failed step too', async () => {
      const result = await bash.run({ command: 'sleep 30 & echo $! > pidfile; exit 2' });
      expect(result.exitCode).toBe(2);
      await bash.waitUntilGone(await bash.readPid('pidfile'));
    });

    it('does not hang on a process that left the group but holds the output open', async () => {
      // `setsid` puts the sleeper in a session of its own, out of the step's reach: the step
      // must still end (after a short drain), and the test kills the sleeper itself.
      const started = performance.now();
      const result = await bash.run({
        command: [
          "setsid bash -c 'echo $$ > escapee.pid; exec sleep 30' &",
          'until [ -s escapee.pid ]; do sleep 0.01; done',
          'echo done',
        ].join('\n'),
      });
      const escapee = await bash.readPid('escapee.pid');
      try {
        expect(result).toMatchObject({ exitCode: 0, output: 'done\n' });
        expect(performance.now() - started).toBeLessThan(5_000);
      } finally {
        if (isAlive(escapee)) process.kill(escapee, 'SIGKILL');
        await bash.waitUntilGone(escapee);
      }
    });

    it('leaves the working directory to the caller', async () => {
      await bash.run({ command: 'echo kept > file.txt' });
      expect(await fs.readFile(path.join(bash.dir, 'file.txt'), 'utf8')).toBe('kept\n');
    });
  });
});

describe('when the server dies', () => {
  const bash = useBashHarness();

  it('a watchdog in the group kills the step within seconds', async () => {
    const script = `
      const { runBashStep } = await import(process.argv[1]);
      void runBashStep({
        command: 'sleep 30 & echo $! > pidfile; echo ready; sleep 30',
        cwd: process.argv[2],
        env: { PATH: process.env.PATH },
        timeoutMs: 60_000,
        killGraceMs: 1_000,
        outputLimitBytes: 1_024,
        signal: new AbortController().signal,
        onSpawn: (pid) => console.log('pgid ' + pid),
        onOutput: (chunk) => { if (String(chunk).includes('ready')) console.log('ready'); },
      });
    `;
    const server = startNodeScript(script, moduleUrl('server/workflow/bashStep.ts'), bash.dir);
    let pgid = 0;
    try {
      await waitFor(() => server.output().includes('ready'), {
        timeoutMs: 15_000,
        what: 'the step to start in the child server',
      });
      pgid = Number(/pgid (\d+)/.exec(server.output())?.[1]);
      const background = await bash.readPid('pidfile');
      server.child.kill('SIGKILL');
      await server.exited;
      await bash.waitUntilGroupGone(pgid);
      await bash.waitUntilGone(background);
    } finally {
      server.child.kill('SIGKILL');
      if (pgid > 0 && liveGroupMembers(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
    }
  });
});
