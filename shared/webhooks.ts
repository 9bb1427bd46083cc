// Wire shapes of the webhook routes: registrations (PUT /api/webhooks/:name), their listing with
// recent delivery attempts, and the events a webhook can subscribe to.
import { z } from 'zod';
import { dnsLabelSchema } from './spec.js';

/**
 * Events sent to webhooks: one per change of a task's status. `task.started` when a worker takes
 * it, `task.requeued` when it goes back to pending (retry backoff, a lost node, a manual retry).
 */
export const WEBHOOK_EVENTS = [
  'task.started',
  'task.completed',
  'task.failed',
  'task.cancelled',
  'task.requeued',
] as const;
export const webhookEventSchema = z.enum(WEBHOOK_EVENTS);
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

const WEBHOOK_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const webhookNameSchema = z
  .string()
  .regex(
    WEBHOOK_NAME,
    'must be a plain identifier: lower-case letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters',
  );

/** Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 random bytes. */
export const webhookSecretSchema = z
  .string()
  .regex(
    /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/,
    'must be `whsec_` followed by the base64 of 24 to 64 bytes',
  );

export const webhookUrlSchema = z
  .string()
  .max(2048, 'must be at most 2048 characters')
  .refine((value) => protocolOf(value) !== undefined, 'must be an absolute URL')
  .refine((value) => /^https?:$/.test(protocolOf(value) ?? ''), 'must be http or https');

function protocolOf(value: string): string | undefined {
  try {
    return new URL(value).protocol;
  } catch {
    return undefined;
  }
}

export const webhookInputSchema = z.strictObject({
  url: webhookUrlSchema,
  events: z
    .array(webhookEventSchema)
    .min(1, 'must name at least one event')
    .refine((events) => new Set(events).size === events.length, 'must not repeat an event'),
  /** Only this application's tasks; every application's when absent. */
  app_name: dnsLabelSchema.optional(),
  /** Generated when absent on creation (and kept when absent on a replacement). */
  secret: webhookSecretSchema.optional(),
});
export type WebhookInput = z.infer<typeof webhookInputSchema>;

export const putWebhookInputSchema = z.strictObject({
  name: webhookNameSchema,
  webhook: webhookInputSchema,
});

export const webhookAttemptSchema = z.object({
  /** The `webhook-id` header: the same for every attempt at one event. */
  message_id: z.string(),
  event: webhookEventSchema,
  task_id: z.string(),
  attempt: z.int(),
  attempted_at: z.string(),
  /** The receiver's HTTP status; null when no answer came (timeout, refused, …). */
  status_code: z.int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.int(),
});
export type WebhookAttempt = z.infer<typeof webhookAttemptSchema>;

export const webhookSchema = z.object({
  name: webhookNameSchema,
  url: z.string(),
  events: z.array(webhookEventSchema),
  app_name: z.string().nullable(),
  created_by: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  /** Deliveries by state: waiting (first try or retry), delivered, given up after a day. */
  deliveries: z.object({ pending: z.int(), delivered: z.int(), failed: z.int() }),
  /** The latest attempts, newest first. */
  recent_attempts: z.array(webhookAttemptSchema),
});
export type Webhook = z.infer<typeof webhookSchema>;

export const putWebhookResponseSchema = z.object({
  created: z.boolean(),
  webhook: webhookSchema,
  /** The generated secret: shown this once, never again. */
  secret: webhookSecretSchema.optional(),
});
export type PutWebhookResponse = z.infer<typeof putWebhookResponseSchema>;

export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) });
export type WebhookList = z.infer<typeof webhookListSchema>;

export const deleteWebhookResponseSchema = z.object({ name: z.string(), deleted: z.literal(true) });
