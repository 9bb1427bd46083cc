// Webhook registrations: create or replace, list with their recent attempts, delete. The REST
// routes and the tRPC procedures both call these.
import { TRPCError } from '@trpc/server';
import type {
  PutWebhookResponse,
  Webhook,
  WebhookAttempt,
  WebhookEvent,
  WebhookInput,
  WebhookList,
} from '../../shared/webhooks.js';
import { badRequest } from '../errors.js';
import { generateWebhookSecret } from '../webhooks/signWebhook.js';
import { checkTarget, PrivateTargetError } from '../webhooks/targetPolicy.js';
import type { Principal, QueueServices } from './context.js';

type Services = Pick<QueueServices, 'database' | 'config'>;

/** Attempts shown per webhook, newest first. */
const RECENT_ATTEMPTS = 10;

const UPSERT = `
INSERT INTO queue_webhooks (name, url, events, app_name, secret, created_by)
VALUES ($1, $2, $3, $4, coalesce($5, $6), $7)
ON CONFLICT (name) DO UPDATE
SET url = excluded.url, events = excluded.events, app_name = excluded.app_name,
    secret = coalesce($5, queue_webhooks.secret), updated_at = now()
RETURNING (xmax = 0) AS created`;

/** Creates or replaces the webhook `name`. The generated secret is in the answer only. */
export async function putWebhook(
  services: Services,
  name: string,
  input: WebhookInput,
  principal: Principal,
): Promise<PutWebhookResponse> {
  if (!services.config.webhooks.allowPrivate) {
    try {
      await checkTarget(new URL(input.url));
    } catch (error) {
      if (!(error instanceof PrivateTargetError)) throw error;
      throw badRequest(`Invalid webhook: url: ${error.message}`, [
        { path: 'url', message: error.message },
      ]);
    }
  }
  const generated = generateWebhookSecret();
  const [row] = await services.database.query<{ created: boolean }>(UPSERT, [
    name,
    input.url,
    input.events,
    input.app_name ?? null,
    input.secret ?? null,
    generated,
    principal.user,
  ]);
  const created = row?.created === true;
  const webhook = (await readWebhooks(services, name))[0];
  if (!webhook) throw new Error(`webhook ${name} vanished after it was stored`);
  return { created, webhook, ...(created && !input.secret ? { secret: generated } : {}) };
}

export async function listWebhooks(services: Services): Promise<WebhookList> {
  return { webhooks: await readWebhooks(services) };
}

export async function getWebhook(services: Services, name: string): Promise<Webhook> {
  const webhook = (await readWebhooks(services, name))[0];
  if (!webhook) throw notFound(name);
  return webhook;
}

export async function deleteWebhook(
  services: Services,
  name: string,
): Promise<{ name: string; deleted: true }> {
  const rows = await services.database.query(
    'DELETE FROM queue_webhooks WHERE name = $1 RETURNING id',
    [name],
  );
  if (rows.length === 0) throw notFound(name);
  return { name, deleted: true };
}

const notFound = (name: string) =>
  new TRPCError({ code: 'NOT_FOUND', message: `No webhook named '${name}'.` });

interface WebhookRow {
  id: number;
  name: string;
  url: string;
  events: WebhookEvent[];
  app_name: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  pending: number;
  delivered: number;
  failed: number;
}

interface AttemptRow {
  webhook_id: number;
  message_id: string;
  event_type: WebhookEvent;
  task_id: string;
  attempt: number;
  attempted_at: Date;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** All webhooks (or the one named), by name, with delivery counts and recent attempts. */
async function readWebhooks(services: Services, name?: string): Promise<Webhook[]> {
  const { database } = services;
  const webhooks = await database.query<WebhookRow>(
    `SELECT w.id, w.name, w.url, w.events, w.app_name, w.created_by, w.created_at, w.updated_at,
            coalesce(c.pending, 0)::int AS pending, coalesce(c.delivered, 0)::int AS delivered,
            coalesce(c.failed, 0)::int AS failed
       FROM queue_webhooks w
       LEFT JOIN LATERAL (
         SELECT count(*) FILTER (WHERE d.status = 'pending') AS pending,
                count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
                count(*) FILTER (WHERE d.status = 'failed') AS failed
           FROM queue_webhook_deliveries d WHERE d.webhook_id = w.id
       ) c ON true
      WHERE $1::text IS NULL OR w.name = $1
      ORDER BY w.name`,
    [name ?? null],
  );
  if (webhooks.length === 0) return [];
  const attempts = await database.query<AttemptRow>(
    `SELECT w.id AS webhook_id, a.message_id, a.event_type, a.task_id, a.attempt, a.attempted_at,
            a.status_code, a.error, a.duration_ms
       FROM queue_webhooks w
       CROSS JOIN LATERAL (
         SELECT t.id, d.message_id, d.event_type, d.task_id, t.attempt, t.attempted_at,
                t.status_code, t.error, t.duration_ms
           FROM queue_webhook_attempts t
           JOIN queue_webhook_deliveries d ON d.id = t.delivery_id
          WHERE t.webhook_id = w.id
          ORDER BY t.id DESC
          LIMIT ${RECENT_ATTEMPTS}
       ) a
      WHERE w.id = ANY ($1::bigint[])
      ORDER BY w.id, a.id DESC`,
    [webhooks.map((w) => w.id)],
  );
  return webhooks.map((w) => ({
    name: w.name,
    url: w.url,
    events: w.events,
    app_name: w.app_name,
    created_by: w.created_by,
    created_at: w.created_at.toISOString(),
    updated_at: w.updated_at.toISOString(),
    deliveries: { pending: w.pending, delivered: w.delivered, failed: w.failed },
    recent_attempts: attempts
      .filter((a) => a.webhook_id === w.id)
      .map((a): WebhookAttempt => ({
        message_id: a.message_id,
        event: a.event_type,
        task_id: a.task_id,
        attempt: a.attempt,
        attempted_at: a.attempted_at.toISOString(),
        status_code: a.status_code,
        error: a.error,
        duration_ms: a.duration_ms,
      })),
  }));
}
