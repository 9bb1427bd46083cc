// resolveStepSandbox: STEP_SANDBOX=bwrap refuses to start without bubblewrap, `auto` warns and
// runs steps unisolated, `off` says so; missing STEP_WRITABLE_PATHS stop the start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';
import { findOnPath, resolveStepSandbox, sandboxArgs } from '../../server/workflow/stepSandbox.js';

const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-no-bwrap-'));
afterAll(() => fs.rmSync(emptyDir, { recursive: true, force: true }));

function capture() {
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  return { logger, text: () => lines.join('') };
}

const config = (env: Record<string, string>) => loadConfig(env, { cwd: os.tmpdir() });

describe('resolveStepSandbox', () => {
  it('refuses to start with STEP_SANDBOX=bwrap when bwrap is not on PATH', () => {
    const { logger } = capture();
    expect(() =>
      resolveStepSandbox(config({ STEP_SANDBOX: 'bwrap', PATH: emptyDir }), { logger }),
    ).toThrow(ConfigError);
    expect(() =>
      resolveStepSandbox(config({ STEP_SANDBOX: 'bwrap', PATH: emptyDir }), { logger }),
    ).toThrow(/STEP_SANDBOX=bwrap: bwrap \(bubblewrap\) is not on PATH\. Install bubblewrap/);
  });

  it('warns and runs steps unisolated with STEP_SANDBOX=auto when bwrap is not on PATH', () => {
    const { logger, text } = capture();
    expect(resolveStepSandbox(config({ PATH: emptyDir }), { logger })).toBeUndefined();
    expect(text()).toContain('Steps are NOT isolated: bwrap (bubblewrap) is not on PATH');
    expect(JSON.parse(text().split('\n')[0]!)).toMatchObject({ level: 40 });
  });

  it('says so when the sandbox is turned off', () => {
    const { logger, text } = capture();
    expect(resolveStepSandbox(config({ STEP_SANDBOX: 'off' }), { logger })).toBeUndefined();
    expect(text()).toContain('STEP_SANDBOX=off: steps are not isolated');
  });

  it('names a STEP_WRITABLE_PATHS entry that does not exist', () => {
    const { logger } = capture();
    const missing = path.join(emptyDir, 'missing');
    expect(() =>
      resolveStepSandbox(config({ STEP_WRITABLE_PATHS: `${emptyDir}, ${missing}` }), { logger }),
    ).toThrow(`STEP_WRITABLE_PATHS: ${missing} does not exist`);
  });

  it.skipIf(findOnPath('bwrap', process.env.PATH ?? '') === undefined)(
    'finds a working bwrap on PATH',
    () => {
      const { logger } = capture();
      const sandbox = resolveStepSandbox(config({ PATH: process.env.PATH ?? '' }), { logger });
      expect(sandbox?.bwrap).toMatch(/\/bwrap$/);
    },
  );
});

describe('sandboxArgs', () => {
  const sandbox = {
    bwrap: '/usr/bin/bwrap',
    writablePaths: ['/var/cache/tool'],
    hiddenDirs: ['/srv/queue/data'],
    hiddenFiles: ['/etc/queue/tokens'],
    network: false,
  };

  it('isolates processes, mounts the host read-only and the task directories writable', () => {
    const args = sandboxArgs(sandbox, { workDir: '/tmp/q/t1', tmpDir: '/tmp/q/t1-tmp' }).join(' ');
    expect(args).toContain('--ro-bind / /');
    expect(args).toContain('--unshare-pid --unshare-ipc --unshare-uts');
    expect(args).toContain('--die-with-parent');
    expect(args).toContain('--cap-drop ALL');
    expect(args).toContain('--unshare-net');
    expect(args).toContain('--bind /tmp/q/t1-tmp /tmp');
    expect(args).toContain('--tmpfs /srv/queue/data');
    expect(args).toContain('--ro-bind /dev/null /etc/queue/tokens');
    expect(args).toContain('--bind /var/cache/tool /var/cache/tool');
    expect(args.endsWith('--bind /tmp/q/t1 /tmp/q/t1 --chdir /tmp/q/t1 --')).toBe(true);
  });

  it('keeps the network unless STEP_NETWORK=off', () => {
    expect(sandboxArgs({ ...sandbox, network: true }, { workDir: '/w' })).not.toContain(
      '--unshare-net',
    );
  });
});

describe('what a sandbox hides', () => {
  it.skipIf(findOnPath('bwrap', process.env.PATH ?? '') === undefined)(
    'the PGlite data directory (created if missing) and API_TOKENS_FILE',
    () => {
      const { logger } = capture();
      const dataDir = path.join(emptyDir, 'data');
      const tokensFile = path.join(emptyDir, 'tokens');
      fs.writeFileSync(tokensFile, 'some-long-token:alice\n');
      const sandbox = resolveStepSandbox(
        config({ DATA_DIR: dataDir, API_TOKENS_FILE: tokensFile, PATH: process.env.PATH ?? '' }),
        { logger },
      );
      expect(sandbox).toMatchObject({ hiddenDirs: [dataDir], hiddenFiles: [tokensFile] });
      expect(fs.existsSync(dataDir)).toBe(true);
    },
  );
});
