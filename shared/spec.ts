// The Score spec a developer POSTs, and the workflow it carries: the validation rules live here so
// the server and every client apply the same ones.
import { z } from 'zod';

export const SCORE_API_VERSION = 'score.dev/v1b1';

/** Step types the workers know how to run. Anything else is refused at enqueue time. */
export const STEP_TYPES = ['bash'] as const;
export type StepType = (typeof STEP_TYPES)[number];

/** Variables every bash step receives from the queue; a spec may not set them itself. */
export const RESERVED_STEP_ENV = [
  'HOME',
  'APP_NAME',
  'TASK_ID',
  'WORKFLOW_NAME',
  'STEP_NAME',
] as const;

export const MAX_STEPS = 100;
export const MAX_RETRIES = 10;
/** A step may not ask for more than a day. */
export const MAX_STEP_TIMEOUT_SECONDS = 86_400;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GOLDEN_PATH_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const dnsLabelSchema = z
  .string()
  .regex(
    DNS_LABEL,
    'must be a DNS label: lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters',
  );

/** A golden path name is a plain identifier, so it can never name a path outside `goldenpaths/`. */
export const goldenPathNameSchema = z
  .string()
  .regex(
    GOLDEN_PATH_NAME,
    'must be a plain identifier: lower-case letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters',
  );

export const bashStepConfigSchema = z.strictObject({
  command: z.string().min(1, 'must be a non-empty command'),
  timeout: z
    .number()
    .positive('must be a positive number of seconds')
    .max(MAX_STEP_TIMEOUT_SECONDS, `must be at most ${MAX_STEP_TIMEOUT_SECONDS} seconds`)
    .optional(),
  env: z
    .record(
      z
        .string()
        .regex(ENV_NAME, 'must be an environment variable name')
        .refine((name) => !(RESERVED_STEP_ENV as readonly string[]).includes(name), {
          message: `is set by the queue itself (${RESERVED_STEP_ENV.join(', ')})`,
        }),
      z.string(),
    )
    .optional(),
});
export type BashStepConfig = z.infer<typeof bashStepConfigSchema>;

const stepConfigSchemas: Record<StepType, z.ZodType> = { bash: bashStepConfigSchema };

export const workflowStepSchema = z
  .looseObject({
    name: z
      .string()
      .min(1, 'must be a non-empty string')
      .max(128, 'must be at most 128 characters'),
    type: z.string().min(1, 'must be a non-empty string'),
    /** What the step does, for people (GET /api/golden-paths lists it). */
    description: z.string().max(1000, 'must be at most 1000 characters').optional(),
    config: z.record(z.string(), z.unknown()),
  })
  .superRefine((step, ctx) => {
    if (!(STEP_TYPES as readonly string[]).includes(step.type)) {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        message: `unsupported step type '${step.type}'; supported types: ${STEP_TYPES.join(', ')}`,
      });
      return;
    }
    const parsed = stepConfigSchemas[step.type as StepType].safeParse(step.config);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ ...issue, path: ['config', ...issue.path] });
      }
    }
  });
export type WorkflowStep = z.infer<typeof workflowStepSchema>;

export const workflowSchema = z.looseObject({
  steps: z
    .array(workflowStepSchema)
    .max(MAX_STEPS, `must have at most ${MAX_STEPS} steps`)
    .superRefine((steps, ctx) => {
      const seen = new Set<string>();
      steps.forEach((step, index) => {
        if (seen.has(step.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `duplicate step name '${step.name}'`,
          });
        }
        seen.add(step.name);
      });
    }),
  /** How many times a failing workflow is tried again. */
  retries: z
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(MAX_RETRIES, `must be at most ${MAX_RETRIES}`)
    .optional(),
});
export type Workflow = z.infer<typeof workflowSchema>;

const containerSchema = z.looseObject({
  image: z.string().min(1, 'must be a non-empty string'),
});

export const scoreSpecSchema = z.looseObject({
  apiVersion: z.literal(SCORE_API_VERSION, `must be '${SCORE_API_VERSION}'`),
  metadata: z.looseObject({ name: dnsLabelSchema }),
  containers: z
    .record(z.string(), containerSchema)
    .refine(
      (containers) => Object.keys(containers).length > 0,
      'must define at least one container',
    ),
  workflow: workflowSchema.optional(),
});
export type ScoreSpec = z.infer<typeof scoreSpecSchema>;
