// shared/errors.ts: how Zod failures become field-by-field problems a person can act on.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeZodError, formatPath, summarizeProblems } from '../../shared/errors.js';
import { scoreSpecSchema } from '../../shared/spec.js';

function zodError(schema: z.ZodType, value: unknown): z.ZodError {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected the value to be refused');
  return parsed.error;
}

describe('formatPath', () => {
  it('joins keys with dots and indexes with brackets', () => {
    expect(formatPath(['workflow', 'steps', 1, 'config', 'command'])).toBe(
      'workflow.steps[1].config.command',
    );
    expect(formatPath(['containers', 'web', 'image'])).toBe('containers.web.image');
  });

  it('names the root and a path that starts with an index', () => {
    expect(formatPath([])).toBe('(root)');
    expect(formatPath([0, 'name'])).toBe('[0].name');
    expect(formatPath([0, 1])).toBe('[0][1]');
  });

  it('writes symbols by their description', () => {
    expect(formatPath(['a', Symbol('s')])).toBe('a.Symbol(s)');
  });
});

describe('describeZodError', () => {
  it('gives the full path of a nested field', () => {
    const error = zodError(scoreSpecSchema, {
      apiVersion: 'score.dev/v1b1',
      metadata: { name: 'app' },
      containers: { web: { image: 'nginx' } },
      workflow: {
        steps: [
          { name: 'a', type: 'bash', config: { command: 'x' } },
          { name: 'b', type: 'bash', config: {} },
        ],
      },
    });
    expect(describeZodError(error)).toEqual([
      { path: 'workflow.steps[1].config.command', message: 'is required' },
    ]);
  });

  it('turns a missing value into "is required" and a wrong type into "must be a …"', () => {
    const schema = z.object({ a: z.string(), b: z.number(), c: z.array(z.string()), d: z.int() });
    expect(describeZodError(zodError(schema, { b: 'x', c: {}, d: 'x' }))).toEqual([
      { path: 'a', message: 'is required' },
      { path: 'b', message: 'must be a number' },
      { path: 'c', message: 'must be an array' },
      { path: 'd', message: 'must be a number' },
    ]);
  });

  it('keeps a message the schema set itself', () => {
    const schema = z.object({ n: z.number().min(3, 'must be at least three') });
    expect(describeZodError(zodError(schema, { n: 1 }))).toEqual([
      { path: 'n', message: 'must be at least three' },
    ]);
  });

  it('keeps a custom type message even when the value is missing', () => {
    const schema = z.object({ v: z.literal('x', 'must be x') });
    expect(describeZodError(zodError(schema, {}))).toEqual([{ path: 'v', message: 'must be x' }]);
  });

  it('lists unknown keys of a strict object', () => {
    const schema = z.strictObject({ a: z.string() });
    expect(describeZodError(zodError(schema, { a: 'x', b: 1 }))).toEqual([
      { path: '(root)', message: 'unknown field: b' },
    ]);
    expect(describeZodError(zodError(schema, { a: 'x', b: 1, c: 2 }))).toEqual([
      { path: '(root)', message: 'unknown fields: b, c' },
    ]);
  });

  it('says a record key broke a rule, naming the key in the path', () => {
    const schema = z.record(z.string().regex(/^[A-Z]+$/, 'must be upper case'), z.string());
    expect(describeZodError(zodError(schema, { lower: 'x' }))).toEqual([
      { path: 'lower', message: 'key must be upper case' },
    ]);
  });

  it('gives one problem per failing field, in order', () => {
    const schema = z.object({ a: z.string(), b: z.string(), c: z.string() });
    expect(describeZodError(zodError(schema, { b: 'ok' })).map((p) => p.path)).toEqual(['a', 'c']);
  });
});

describe('summarizeProblems', () => {
  it('writes one "path: message" per problem, separated by semicolons', () => {
    expect(
      summarizeProblems([
        { path: 'metadata.name', message: 'must be a DNS label' },
        { path: 'containers', message: 'must define at least one container' },
      ]),
    ).toBe('metadata.name: must be a DNS label; containers: must define at least one container');
  });

  it('is empty for no problems', () => {
    expect(summarizeProblems([])).toBe('');
  });
});
