// validateSpec: a parsed body becomes a ScoreSpec, or a BAD_REQUEST whose cause lists each
// failing field (what the REST adapter sends as `details`).
import { describe, expect, it } from 'vitest';
import { parseSpecText, validateSpec } from '../../server/api/specBody.js';
import { FieldProblems, errorResponse, problemsOf } from '../../server/errors.js';
import { refusal } from './support/refusal.js';

const valid = {
  apiVersion: 'score.dev/v1b1',
  metadata: { name: 'my-app' },
  containers: { web: { image: 'nginx' } },
};

describe('validateSpec', () => {
  it('returns the spec when it is valid', () => {
    expect(validateSpec(valid)).toEqual(valid);
  });

  it('validates what parseSpecText produced from YAML', () => {
    const text = 'apiVersion: score.dev/v1b1\nmetadata: {name: a}\ncontainers: {c: {image: i}}\n';
    expect(validateSpec(parseSpecText(text, 'yaml')).metadata.name).toBe('a');
  });

  it('throws BAD_REQUEST with a FieldProblems cause listing each failing field', () => {
    const error = refusal(() =>
      validateSpec({
        apiVersion: 'score.dev/v2',
        metadata: { name: 'My_App' },
        containers: {},
        workflow: {
          steps: [{ name: 's', type: 'bash', config: { command: '', env: { HOME: '/' } } }],
        },
      }),
    );
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.cause).toBeInstanceOf(FieldProblems);
    const problems = problemsOf(error);
    expect(problems?.map((p) => p.path)).toEqual([
      'apiVersion',
      'metadata.name',
      'containers',
      'workflow.steps[0].config.command',
      'workflow.steps[0].config.env.HOME',
    ]);
    for (const problem of problems ?? []) expect(problem.message).not.toBe('');
  });

  it('summarises the problems in the message', () => {
    const error = refusal(() => validateSpec({ ...valid, metadata: {} }));
    expect(error.message).toBe('Invalid Score spec: metadata.name: is required');
    expect(problemsOf(error)).toEqual([{ path: 'metadata.name', message: 'is required' }]);
  });

  it('is turned into a 400 body with the details', () => {
    const error = refusal(() => validateSpec({ ...valid, containers: { web: {} } }));
    expect(errorResponse(error)).toEqual({
      status: 400,
      body: {
        error: {
          code: 'BAD_REQUEST',
          message: 'Invalid Score spec: containers.web.image: is required',
          details: [{ path: 'containers.web.image', message: 'is required' }],
        },
      },
      headers: {},
    });
  });

  it('refuses an unsupported step type naming the supported ones', () => {
    const error = refusal(() =>
      validateSpec({
        ...valid,
        workflow: { steps: [{ name: 'x', type: 'docker', config: {} }] },
      }),
    );
    expect(problemsOf(error)).toEqual([
      {
        path: 'workflow.steps[0].type',
        message: "unsupported step type 'docker'; supported types: bash",
      },
    ]);
  });
});
