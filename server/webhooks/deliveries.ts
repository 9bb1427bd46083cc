// The SQL of webhook deliveries: claim the due ones (any node; SKIP LOCKED), record an attempt,
// delete old finished ones. Claiming pushes `next_attempt_at` past the request timeout: that is
// the lease. A node that dies mid-request leaves the delivery to be claimed again when it ends,
// with the same webhook-id (at-least-once).
import { deleteInBatches } from '../db/deleteInBatches.js';
import type { Queryable } from '../db/database.js';

export interface ClaimedDelivery {
  id: number;
  messageId: string;
  /** The payload as JSON text: signed and sent as is. */
  body: string;
  attempt: number;
  url: string;
  secret: string;
}

const CLAIM = `
WITH next AS (
  SELECT id FROM queue_webhook_deliveries
  WHERE status = 'pending' AND next_attempt_at <= now()
  ORDER BY next_attempt_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE queue_webhook_deliveries d
SET attempts = d.attempts + 1, locked_by = $1,
    next_attempt_at = now() + $3 * interval '1 millisecond'
FROM next, queue_webhooks w
WHERE d.id = next.id AND w.id = d.webhook_id
RETURNING d.id, d.message_id, d.payload::text AS body, d.attempts, w.url, w.secret`;

export async function claimDeliveries(
  db: Queryable,
  options: { nodeId: string; limit: number; leaseMs: number },
): Promise<ClaimedDelivery[]> {
  const rows = await db.query<{
    id: number;
    message_id: string;
    body: string;
    attempts: number;
    url: string;
    secret: string;
  }>(CLAIM, [options.nodeId, options.limit, options.leaseMs]);
  return rows.map((r) => ({
    id: r.id,
    messageId: r.message_id,
    body: r.body,
    attempt: r.attempts,
    url: r.url,
    secret: r.secret,
  }));
}

// The attempt is logged whatever happens; the delivery changes only if it is still this attempt's
// (a lease that ran out may have let another node claim it meanwhile). A failure is retried at
// `now + $4 ms`, but never after the give-up deadline; at the deadline the delivery fails.
const RECORD = `
WITH updated AS (
  UPDATE queue_webhook_deliveries
  SET status = CASE
        WHEN $3 THEN 'delivered'
        WHEN now() >= created_at + $5 * interval '1 millisecond' THEN 'failed'
        ELSE 'pending' END,
      next_attempt_at = least(now() + $4 * interval '1 millisecond',
                              created_at + $5 * interval '1 millisecond'),
      finished_at = CASE
        WHEN $3 OR now() >= created_at + $5 * interval '1 millisecond' THEN now() END,
      locked_by = NULL
  WHERE id = $1 AND attempts = $2 AND status = 'pending'
  RETURNING status
), logged AS (
  INSERT INTO queue_webhook_attempts
    (delivery_id, webhook_id, attempt, status_code, error, duration_ms, node_id)
  SELECT id, webhook_id, $2, $6, $7, $8, $9 FROM queue_webhook_deliveries WHERE id = $1
)
SELECT status FROM updated`;

export interface AttemptRecord {
  deliveryId: number;
  attempt: number;
  ok: boolean;
  /** Delay before the next try when this one failed. */
  retryInMs: number;
  giveUpAfterMs: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  nodeId: string;
}

/** Resolves to the delivery's new status, or undefined when it was no longer this attempt's. */
export async function recordAttempt(
  db: Queryable,
  record: AttemptRecord,
): Promise<'pending' | 'delivered' | 'failed' | undefined> {
  const [row] = await db.query<{ status: 'pending' | 'delivered' | 'failed' }>(RECORD, [
    record.deliveryId,
    record.attempt,
    record.ok,
    record.retryInMs,
    record.giveUpAfterMs,
    record.statusCode,
    record.error,
    record.durationMs,
    record.nodeId,
  ]);
  return row?.status;
}

const PRUNE = `
DELETE FROM queue_webhook_deliveries WHERE id IN (
  SELECT id FROM queue_webhook_deliveries
  WHERE finished_at < now() - $1 * interval '1 millisecond'
  LIMIT $2
)`;

/** Deletes finished deliveries (and their attempts) older than `maxAgeMs`, a batch at a time. */
export function pruneDeliveries(
  db: Queryable,
  options: { maxAgeMs: number; batchSize: number },
): Promise<number> {
  return deleteInBatches(db, PRUNE, options);
}
