// runBashStep gives a step exactly the environment the queue passes: nothing of the server's own
// (its secrets, DATABASE_URL, tokens) leaks into a step.
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FORKED_BY, stepPath, useBashHarness } from './support/bashHarness.js';

/** This process's descriptors above 2 that a child inherits (no close-on-exec). */
function inheritedDescriptors(): number[] {
  const O_CLOEXEC = 0o2000000;
  return readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => {
      if (fd <= 2) return false;
      try {
        const flags = /^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
        return flags !== null && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0;
      } catch {
        return false;
      }
    });
}

/** Variables bash itself sets in every shell. */
const SET_BY_BASH = new Set(['PWD', 'SHLVL', '_', 'OLDPWD']);

function parseEnv0(output: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const entry of output.split('\0').filter((e) => e !== '')) {
    const eq = entry.indexOf('=');
    vars.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return vars;
}

describe.each(FORKED_BY)('the step environment, forked %s', (via) => {
  const bash = useBashHarness({ via });

  beforeEach(() => {
    process.env.SECRET_FOR_TEST = 'server-secret-value';
  });
  afterEach(() => {
    delete process.env.SECRET_FOR_TEST;
  });

  it('is exactly what was passed, plus what bash sets itself', async () => {
    const env = {
      PATH: stepPath,
      APP_NAME: 'my-app',
      GREETING: 'hello world',
      MULTI_LINE: 'one\ntwo',
      QUOTES: `it's "quoted" $HOME`,
      EMPTY: '',
    };
    const result = await bash.run({ command: 'env -0', env });
    expect(result.exitCode).toBe(0);
    const vars = parseEnv0(result.output);
    for (const [name, value] of Object.entries(env)) expect(vars.get(name)).toBe(value);
    const extra = [...vars.keys()].filter((name) => !(name in env) && !SET_BY_BASH.has(name));
    expect(extra).toEqual([]);
  });

  it("does not contain the server's own variables", async () => {
    expect(process.env.HOME ?? process.env.PATH).toBeDefined();
    const result = await bash.run({ command: 'env', env: { PATH: stepPath } });
    expect(result.output).not.toContain('SECRET_FOR_TEST');
    expect(result.output).not.toContain('server-secret-value');
    expect(result.output).not.toMatch(/^HOME=/m);
    expect(result.output).not.toMatch(/^(NODE_OPTIONS|VITEST\w*)=/m);
  });

  it('can be empty', async () => {
    const result = await bash.run({ command: 'echo "[$PATH_SET]"', env: { PATH_SET: 'x' } });
    expect(result.output).toBe('[x]\n');
    const bare = await bash.run({ command: 'echo "${SECRET_FOR_TEST:-unset}"', env: {} });
    expect(bare.output).toBe('unset\n');
  });
});

// However it is forked (posix_spawn, Node's fork, the watchdog's wrapper), a step starts in the
// same state: a session and process group of its own, stdin on /dev/null, no signal blocked or
// ignored (Node ignores SIGPIPE, and an ignored signal would stay ignored across exec), and no
// descriptor but its three standard ones.
describe.each(FORKED_BY)('the process a step starts as, forked %s', (via) => {
  const bash = useBashHarness({ via });

  it('leads its own session and process group', async () => {
    const result = await bash.run({
      command: 'read -r -a stat < /proc/$$/stat; echo "$$ ${stat[4]} ${stat[5]}"',
    });
    const [pid, group, session] = result.output.trim().split(' ');
    expect(group).toBe(pid);
    expect(session).toBe(pid);
  });

  it('reads stdin from /dev/null and holds no other descriptor', async () => {
    const result = await bash.run({
      command: 'readlink /proc/$$/fd/0; exec ls /proc/self/fd',
    });
    // 3: the directory ls reads; and what this process inherited without close-on-exec (from
    // whatever started the tests) passes through every forker alike.
    const expected = [0, 1, 2, 3, ...inheritedDescriptors()].sort((a, b) => a - b);
    const [stdin, ...fds] = result.output.trim().split('\n');
    expect(stdin).toBe('/dev/null');
    expect(fds.map(Number).sort((a, b) => a - b)).toEqual(expected);
  });

  it('blocks and ignores no signal', async () => {
    const result = await bash.run({ command: 'grep -E "^Sig(Blk|Ign)" /proc/self/status' });
    expect(result.output).toBe('SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
    // So a pipeline's writer dies of SIGPIPE when its reader stops (141 = 128 + 13).
    const pipeline = await bash.run({
      command: 'set +o pipefail; yes | head -n 1; echo "${PIPESTATUS[0]}"',
    });
    expect(pipeline.output).toBe('y\n141\n');
  });
});
