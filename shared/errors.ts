// The one JSON error body every REST route returns, and how validation problems are described in it.
import { z } from 'zod';

export const fieldProblemSchema = z.object({
  path: z.string(),
  message: z.string(),
});
export type FieldProblem = z.infer<typeof fieldProblemSchema>;

export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(fieldProblemSchema).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** `containers.web.image`, `workflow.steps[0].name`; the root is `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** One line per failing field, naming the field and the rule it broke. */
export function describeZodError(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: describeIssue(issue),
  }));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // Zod's own wording ("Invalid input: expected string, received undefined") is turned into a rule;
  // a message a schema set itself is kept.
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    if (issue.message.endsWith('received undefined')) return 'is required';
    return `must be ${article(issue.expected)}`;
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0];
    return inner ? `key ${describeIssue(inner)}` : issue.message;
  }
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  }
  return issue.message;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** `metadata.name: must be a DNS label …; containers: must define at least one container` */
export function summarizeProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}
