// runBashStep gives a step exactly the environment the queue passes: nothing of the server's own
// (its secrets, DATABASE_URL, tokens) leaks into a step.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FORKED_BY, stepPath, useBashHarness } from './support/bashHarness.js';

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
