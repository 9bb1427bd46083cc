// scoreSpecSchema: which Score specs are accepted at enqueue time, and what each refusal says.
import { describe, expect, it } from 'vitest';
import { describeZodError, type FieldProblem } from '../../shared/errors.js';
import {
  MAX_RETRIES,
  MAX_STEPS,
  RESERVED_STEP_ENV,
  SCORE_API_VERSION,
  scoreSpecSchema,
} from '../../shared/spec.js';

const minimal = {
  apiVersion: 'score.dev/v1b1',
  metadata: { name: 'my-app' },
  containers: { web: { image: 'nginx:1.27' } },
};

function bashStep(name: string, config: Record<string, unknown> = { command: 'echo hi' }) {
  return { name, type: 'bash', config };
}

function withSteps(...steps: unknown[]) {
  return { ...minimal, workflow: { steps } };
}

/** The problems of a spec the schema refuses; fails the test if it is accepted. */
function problems(value: unknown): FieldProblem[] {
  const parsed = scoreSpecSchema.safeParse(value);
  if (parsed.success) throw new Error(`expected the spec to be refused: ${JSON.stringify(value)}`);
  return describeZodError(parsed.error);
}

function accepts(value: unknown): boolean {
  return scoreSpecSchema.safeParse(value).success;
}

describe('the whole spec', () => {
  it('accepts a minimal spec and keeps fields it does not know (Score has many)', () => {
    const spec = { ...minimal, service: { ports: { http: { port: 80 } } }, resources: {} };
    const parsed = scoreSpecSchema.parse(spec);
    expect(parsed).toEqual(spec);
  });

  it('accepts a full spec with a bash workflow', () => {
    const spec = withSteps(
      bashStep('build', { command: 'make', timeout: 60, env: { TARGET: 'prod', _X1: '' } }),
      bashStep('deploy'),
    );
    expect(accepts({ ...spec, workflow: { ...spec.workflow, retries: 2 } })).toBe(true);
  });

  it('refuses a value that is not an object', () => {
    expect(problems(null)).toEqual([{ path: '(root)', message: 'must be an object' }]);
    expect(problems([minimal])).toEqual([{ path: '(root)', message: 'must be an object' }]);
  });

  it('lists every missing top-level field', () => {
    expect(problems({})).toEqual([
      { path: 'apiVersion', message: `must be '${SCORE_API_VERSION}'` },
      { path: 'metadata', message: 'is required' },
      { path: 'containers', message: 'is required' },
    ]);
  });
});

describe('apiVersion', () => {
  it.each(['score.dev/v1b2', 'score.dev/v1', 'SCORE.DEV/V1B1', '', 1])(
    'refuses %j',
    (apiVersion) => {
      expect(problems({ ...minimal, apiVersion })).toEqual([
        { path: 'apiVersion', message: "must be 'score.dev/v1b1'" },
      ]);
    },
  );
});

describe('metadata.name is a DNS label', () => {
  it.each(['a', '1', 'my-app', 'a1-b2-c3', 'x'.repeat(63), `a${'-'.repeat(61)}z`])(
    'accepts %j',
    (name) => {
      expect(accepts({ ...minimal, metadata: { name } })).toBe(true);
    },
  );

  it.each([
    ['64 characters', 'x'.repeat(64)],
    ['upper case', 'My-app'],
    ['an underscore', 'my_app'],
    ['a leading hyphen', '-app'],
    ['a trailing hyphen', 'app-'],
    ['a dot', 'my.app'],
    ['a space', 'my app'],
    ['a slash', '../app'],
    ['a trailing newline', 'app\n'],
    ['the empty string', ''],
  ])('refuses a name with %s', (_what, name) => {
    const [problem, ...rest] = problems({ ...minimal, metadata: { name } });
    expect(rest).toEqual([]);
    expect(problem?.path).toBe('metadata.name');
    expect(problem?.message).toMatch(/^must be a DNS label/);
    expect(problem?.message).toContain('at most 63 characters');
  });

  it('refuses a missing or non-string name', () => {
    expect(problems({ ...minimal, metadata: {} })).toEqual([
      { path: 'metadata.name', message: 'is required' },
    ]);
    expect(problems({ ...minimal, metadata: { name: 42 } })).toEqual([
      { path: 'metadata.name', message: 'must be a string' },
    ]);
  });
});

describe('containers', () => {
  it('needs at least one container', () => {
    expect(problems({ ...minimal, containers: {} })).toEqual([
      { path: 'containers', message: 'must define at least one container' },
    ]);
  });

  it('needs an image in every container', () => {
    expect(
      problems({
        ...minimal,
        containers: { web: { image: 'nginx' }, worker: {}, db: { image: '' } },
      }),
    ).toEqual([
      { path: 'containers.worker.image', message: 'is required' },
      { path: 'containers.db.image', message: 'must be a non-empty string' },
    ]);
  });

  it('refuses containers given as a list', () => {
    expect(problems({ ...minimal, containers: [{ image: 'nginx' }] })).toEqual([
      { path: 'containers', message: 'must be a record' },
    ]);
  });
});

describe('workflow steps', () => {
  it('accepts an empty workflow and a spec without one', () => {
    expect(accepts({ ...minimal, workflow: { steps: [] } })).toBe(true);
    expect(accepts(minimal)).toBe(true);
  });

  it('needs a steps list when a workflow is given', () => {
    expect(problems({ ...minimal, workflow: {} })).toEqual([
      { path: 'workflow.steps', message: 'is required' },
    ]);
  });

  it('needs a name, a type and a config in each step', () => {
    expect(problems(withSteps(bashStep('ok'), {}))).toEqual([
      { path: 'workflow.steps[1].name', message: 'is required' },
      { path: 'workflow.steps[1].type', message: 'is required' },
      { path: 'workflow.steps[1].config', message: 'is required' },
    ]);
  });

  it('refuses an empty or overlong step name', () => {
    expect(problems(withSteps(bashStep('')))).toEqual([
      { path: 'workflow.steps[0].name', message: 'must be a non-empty string' },
    ]);
    expect(accepts(withSteps(bashStep('s'.repeat(128))))).toBe(true);
    expect(problems(withSteps(bashStep('s'.repeat(129))))).toEqual([
      { path: 'workflow.steps[0].name', message: 'must be at most 128 characters' },
    ]);
  });

  it('names the supported types when a step type is unknown', () => {
    expect(problems(withSteps({ name: 'a', type: 'python', config: {} }))).toEqual([
      {
        path: 'workflow.steps[0].type',
        message: "unsupported step type 'python'; supported types: bash",
      },
    ]);
  });

  it('refuses duplicate step names, pointing at the second one', () => {
    expect(problems(withSteps(bashStep('a'), bashStep('b'), bashStep('a')))).toEqual([
      { path: 'workflow.steps[2].name', message: "duplicate step name 'a'" },
    ]);
  });

  it(`accepts ${MAX_STEPS} steps and refuses one more`, () => {
    const steps = (n: number) => Array.from({ length: n }, (_, i) => bashStep(`step-${i}`));
    expect(accepts(withSteps(...steps(MAX_STEPS)))).toBe(true);
    expect(problems(withSteps(...steps(MAX_STEPS + 1)))).toEqual([
      { path: 'workflow.steps', message: `must have at most ${MAX_STEPS} steps` },
    ]);
  });
});

describe('bash step config', () => {
  const configProblems = (config: Record<string, unknown>) =>
    problems(withSteps(bashStep('s', config)));

  it('needs a non-empty command', () => {
    expect(configProblems({})).toEqual([
      { path: 'workflow.steps[0].config.command', message: 'is required' },
    ]);
    expect(configProblems({ command: '' })).toEqual([
      { path: 'workflow.steps[0].config.command', message: 'must be a non-empty command' },
    ]);
    expect(configProblems({ command: ['echo', 'hi'] })).toEqual([
      { path: 'workflow.steps[0].config.command', message: 'must be a string' },
    ]);
  });

  it('accepts a positive timeout up to a day', () => {
    for (const timeout of [0.5, 1, 86_400]) {
      expect(accepts(withSteps(bashStep('s', { command: 'x', timeout })))).toBe(true);
    }
  });

  it.each([
    [0, 'must be a positive number of seconds'],
    [-5, 'must be a positive number of seconds'],
    [86_401, 'must be at most 86400 seconds'],
    ['60', 'must be a number'],
  ])('refuses timeout %j', (timeout, message) => {
    expect(configProblems({ command: 'x', timeout })).toEqual([
      { path: 'workflow.steps[0].config.timeout', message },
    ]);
  });

  it('accepts environment variable names', () => {
    const env = { A: '1', _private: '2', PATH_EXTRA: '', lower_case9: 'x' };
    expect(accepts(withSteps(bashStep('s', { command: 'x', env })))).toBe(true);
  });

  it.each(['1ABC', 'MY-VAR', 'A B', 'A=B', ''])('refuses the variable name %j', (name) => {
    expect(configProblems({ command: 'x', env: { [name]: 'v' } })).toEqual([
      {
        path: `workflow.steps[0].config.env.${name}`,
        message: 'key must be an environment variable name',
      },
    ]);
  });

  it.each(RESERVED_STEP_ENV)('refuses the reserved variable %s', (name) => {
    const [problem, ...rest] = configProblems({ command: 'x', env: { [name]: 'v' } });
    expect(rest).toEqual([]);
    expect(problem?.path).toBe(`workflow.steps[0].config.env.${name}`);
    expect(problem?.message).toMatch(/^key is set by the queue itself/);
  });

  it('refuses non-string values', () => {
    expect(configProblems({ command: 'x', env: { PORT: 8080 } })).toEqual([
      { path: 'workflow.steps[0].config.env.PORT', message: 'must be a string' },
    ]);
  });

  it('refuses keys it does not know, so a typo is not silently ignored', () => {
    expect(configProblems({ command: 'x', timout: 5 })).toEqual([
      { path: 'workflow.steps[0].config', message: 'unknown field: timout' },
    ]);
    expect(configProblems({ command: 'x', shell: 'zsh', user: 'root' })).toEqual([
      { path: 'workflow.steps[0].config', message: 'unknown fields: shell, user' },
    ]);
  });

  it('reports every broken rule of a config at once', () => {
    const found = configProblems({ command: '', timeout: 0, env: { HOME: '/' }, extra: 1 });
    expect(found.map((p) => p.path)).toEqual([
      'workflow.steps[0].config.command',
      'workflow.steps[0].config.timeout',
      'workflow.steps[0].config.env.HOME',
      'workflow.steps[0].config',
    ]);
  });
});

describe('workflow.retries', () => {
  const withRetries = (retries: unknown) => ({ ...minimal, workflow: { steps: [], retries } });

  it(`accepts 0 to ${MAX_RETRIES}`, () => {
    for (const retries of [0, 1, MAX_RETRIES]) expect(accepts(withRetries(retries))).toBe(true);
  });

  it.each([
    [-1, 'must not be negative'],
    [MAX_RETRIES + 1, `must be at most ${MAX_RETRIES}`],
    [1.5, 'must be a whole number'],
    ['2', 'must be a whole number'],
  ])('refuses %j', (retries, message) => {
    expect(problems(withRetries(retries))).toEqual([{ path: 'workflow.retries', message }]);
  });
});
