// Reading REST query parameters and bodies through the shared schemas: a failure is a 400 that
// names the parameter or field.
import type { z } from 'zod';
import { describeZodError, summarizeProblems } from '../../shared/errors.js';
import { badRequest } from '../errors.js';

export type Query = Record<string, string | string[] | undefined>;

/** Decimal digits (and a sign) only: `''`, `0x10` or `1e2` stay strings, which the schema refuses. */
export function wholeNumber(value: string): number | string {
  return /^-?\d{1,15}$/.test(value) ? Number(value) : value;
}

export function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw badRequest(`Give ${name} once, not ${value.length} times.`);
  return value;
}

export function parse<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = describeZodError(parsed.error).map((p) => ({
    path: p.path === '(root)' ? name : p.path,
    message: p.message,
  }));
  throw badRequest(`Invalid ${name}: ${summarizeProblems(problems)}`, problems);
}
