// runBashStep: exit codes, `-eo pipefail` semantics, and the output it captures (interleaved,
// capped to the last bytes).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORKED_BY, useBashHarness } from './support/bashHarness.js';

describe.each(FORKED_BY)('forked %s', (via) => {
  const bash = useBashHarness({ via });

  describe('exit status', () => {
    it('reports success', async () => {
      const result = await bash.run({ command: 'echo hello' });
      expect(result).toEqual({
        exitCode: 0,
        signal: null,
        timedOut: false,
        aborted: false,
        output: 'hello\n',
        outputBytes: 6,
        stderrLastLine: '',
      });
    });

    it('reports a non-zero exit code', async () => {
      const result = await bash.run({ command: 'echo "bad input" >&2; exit 3' });
      expect(result).toMatchObject({ exitCode: 3, signal: null, timedOut: false, aborted: false });
      expect(result.stderrLastLine).toBe('bad input');
    });

    it('stops at the first failing command (set -e)', async () => {
      const result = await bash.run({ command: 'echo before; false; echo after' });
      expect(result.exitCode).toBe(1);
      expect(result.output).toBe('before\n');
    });

    it('fails a pipeline when any part fails (pipefail)', async () => {
      const result = await bash.run({ command: 'false | cat; echo after' });
      expect(result.exitCode).not.toBe(0);
      expect(result.output).not.toContain('after');
    });

    it('reports a command that does not exist', async () => {
      const result = await bash.run({ command: 'no-such-command-xyz --flag' });
      expect(result.exitCode).toBe(127);
      expect(result.stderrLastLine).toMatch(/no-such-command-xyz: command not found/);
    });

    it('reports a step that kills itself with a signal', async () => {
      const result = await bash.run({ command: 'kill -KILL $$' });
      expect(result).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: false });
    });

    it('runs in the given directory', async () => {
      const result = await bash.run({ command: 'pwd; echo made > made.txt' });
      expect(result.output.trim()).toBe(fs.realpathSync(bash.dir));
      expect(fs.readFileSync(path.join(bash.dir, 'made.txt'), 'utf8')).toBe('made\n');
    });

    it('reports a directory that does not exist without hanging', async () => {
      let spawned = false;
      const started = performance.now();
      const result = await bash.run({
        command: 'echo never',
        cwd: path.join(bash.dir, 'missing'),
        onSpawn: () => {
          spawned = true;
        },
      });
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(result.spawnError).toMatch(/ENOENT/);
      expect(result).toMatchObject({ exitCode: null, output: '', timedOut: false });
      expect(spawned).toBe(false);
    });
  });

  describe('output', () => {
    it('captures stdout and stderr interleaved, in the order they were written', async () => {
      // Each write waits until the test has seen the previous one, so the order is certain.
      const seen: string[] = [];
      const result = await bash.run({
        command: [
          'echo out-1',
          'until [ -e ack-1 ]; do sleep 0.01; done',
          'echo err-2 >&2',
          'until [ -e ack-2 ]; do sleep 0.01; done',
          'echo out-3',
          'until [ -e ack-3 ]; do sleep 0.01; done',
          'echo err-4 >&2',
        ].join('\n'),
        onOutput: (chunk) => {
          for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
            seen.push(line);
            fs.writeFileSync(path.join(bash.dir, `ack-${seen.length}`), '');
          }
        },
      });
      expect(result.exitCode).toBe(0);
      expect(seen).toEqual(['out-1', 'err-2', 'out-3', 'err-4']);
      expect(result.output).toBe('out-1\nerr-2\nout-3\nerr-4\n');
      expect(result.stderrLastLine).toBe('err-4');
    });

    it('takes stderrLastLine from stderr only', async () => {
      const result = await bash.run({
        command:
          'echo "first problem" >&2; echo "the real problem" >&2; echo "stdout after"; exit 1',
      });
      expect(result.stderrLastLine).toBe('the real problem');
      expect(result.output).toContain('stdout after');
    });

    it('keeps only the last outputLimitBytes, counting every byte', async () => {
      let streamed = 0;
      const result = await bash.run({
        command: "head -c 204800 /dev/zero | tr '\\0' x; echo; echo END",
        outputLimitBytes: 1_024,
        onOutput: (chunk) => {
          streamed += chunk.length;
        },
      });
      expect(result.exitCode).toBe(0);
      expect(result.outputBytes).toBe(204_800 + 5);
      expect(streamed).toBe(result.outputBytes);
      expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(1_024);
      expect(result.output.length).toBe(1_024);
      expect(result.output.endsWith('x\nEND\n')).toBe(true);
    });

    it('keeps UTF-8 output intact', async () => {
      const result = await bash.run({ command: "printf 'café 🚀\\n'" });
      expect(result.output).toBe('café 🚀\n');
    });
  });
});
