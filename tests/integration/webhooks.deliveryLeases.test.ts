// The delivery rows on a real database, without a server: the trigger stores one per matching
// webhook with each status change (and none otherwise), a claim is a lease another claimer
// cannot take until it runs out, a stale attempt does not overwrite a newer one, and a delivery
// failing past the give-up deadline is failed.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import type { Database } from '../../server/db/database.js';
import { migrateDatabase } from '../../server/db/migrate.js';
import { openDatabase } from '../../server/db/openDatabase.js';
import { claimDeliveries, recordAttempt } from '../../server/webhooks/deliveries.js';
import { WebhookSender } from '../../server/webhooks/webhookSender.js';
import { waitFor } from '../helpers/waitFor.js';
import { startWebhookReceiver } from '../helpers/webhookReceiver.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

const logger = pino({ level: 'silent' });
let testDatabase: TestDatabase;
let db: Database;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  db = await openDatabase(loadConfig(testDatabase.env).database, logger);
  await migrateDatabase(db, logger);
  await db.query(
    `INSERT INTO queue_webhooks (name, url, events, app_name, secret, created_by) VALUES
       ('all-ends', 'http://203.0.113.1/a', '{task.completed,task.failed}', NULL, 'whsec_x', 't'),
       ('app-starts', 'http://203.0.113.1/b', '{task.started}', 'app-b', 'whsec_x', 't')`,
  );
});
afterAll(async () => {
  await db?.close();
  await testDatabase?.drop();
});

async function insertTask(app: string): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO queue_tasks (task_id, app_name, workflow_name, golden_path, spec, steps, metadata,
                              created_by)
     VALUES ('task-' || floor(random() * 1e15)::text, $1, 'w', 'deploy-app', '{}', '[]', '{}', 't')
     RETURNING id`,
    [app],
  );
  return row!.id;
}

const deliveries = () =>
  db.query<{ id: number; event_type: string; webhook: string }>(
    `SELECT d.id, d.event_type, w.name AS webhook FROM queue_webhook_deliveries d
       JOIN queue_webhooks w ON w.id = d.webhook_id ORDER BY d.id`,
  );

describe('the trigger', () => {
  it('stores a delivery per matching webhook with each status change, none otherwise', async () => {
    const a = await insertTask('app-a');
    const b = await insertTask('app-b');
    expect(await deliveries()).toEqual([]);
    await db.query(`UPDATE queue_tasks SET status = 'running', attempts = 1 WHERE id IN ($1, $2)`, [
      a,
      b,
    ]);
    await db.query(`UPDATE queue_tasks SET lease_expires_at = now() WHERE id IN ($1, $2)`, [a, b]);
    await db.query(`UPDATE queue_tasks SET status = 'running' WHERE id = $1`, [a]);
    await db.query(`UPDATE queue_tasks SET status = 'completed' WHERE id = $1`, [a]);
    await db.query(`UPDATE queue_tasks SET status = 'failed', error_message = 'x' WHERE id = $1`, [
      b,
    ]);
    expect((await deliveries()).map((d) => [d.webhook, d.event_type])).toEqual([
      ['app-starts', 'task.started'],
      ['all-ends', 'task.completed'],
      ['all-ends', 'task.failed'],
    ]);
  });

  it('stores the deliveries of a statement that changes many tasks in task order', async () => {
    const ids = [await insertTask('app-b'), await insertTask('app-a'), await insertTask('app-b')];
    await db.query(`UPDATE queue_tasks SET status = 'running' WHERE id = $1`, [ids[2]]);
    const last = (await deliveries()).at(-1)?.id ?? 0;
    // One statement moves all three to running: the third was running already.
    await db.query(`UPDATE queue_tasks SET status = 'running', attempts = 1 WHERE id = ANY($1)`, [
      ids,
    ]);
    await db.query(`UPDATE queue_tasks SET status = 'completed' WHERE id = ANY($1)`, [ids]);
    const rows = await db.query<{ webhook: string; event_type: string; task_row: number }>(
      `SELECT w.name AS webhook, d.event_type, t.id AS task_row FROM queue_webhook_deliveries d
         JOIN queue_webhooks w ON w.id = d.webhook_id JOIN queue_tasks t ON t.task_id = d.task_id
        WHERE d.id > $1 ORDER BY d.id`,
      [last],
    );
    expect(rows.map((r) => [r.webhook, r.event_type, r.task_row])).toEqual([
      ['app-starts', 'task.started', ids[0]],
      ['all-ends', 'task.completed', ids[0]],
      ['all-ends', 'task.completed', ids[1]],
      ['all-ends', 'task.completed', ids[2]],
    ]);
  });

  it('rolls back with the status change', async () => {
    const before = (await deliveries()).length;
    const id = await insertTask('app-a');
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`UPDATE queue_tasks SET status = 'completed' WHERE id = $1`, [id]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await deliveries()).toHaveLength(before);
  });
});

describe('claims and attempts', () => {
  it('leases a claimed delivery; a stale attempt changes nothing; the newer one counts', async () => {
    await db.query(`UPDATE queue_webhook_deliveries SET status = 'delivered'`);
    const id = await insertTask('app-c');
    await db.query(`UPDATE queue_tasks SET status = 'cancelled' WHERE id = $1`, [id]);
    await db.query(
      `UPDATE queue_webhooks SET events = events || '{task.cancelled}' WHERE name = 'all-ends'`,
    );
    await db.query(`UPDATE queue_tasks SET status = 'pending' WHERE id = $1`, [id]);
    await db.query(`UPDATE queue_tasks SET status = 'cancelled' WHERE id = $1`, [id]);

    const [first] = await claimDeliveries(db, { nodeId: 'n1', limit: 5, leaseMs: 300 });
    expect(first).toMatchObject({ attempt: 1, url: 'http://203.0.113.1/a' });
    expect(JSON.parse(first!.body)).toMatchObject({
      type: 'task.cancelled',
      data: { status: 'cancelled', previous_status: 'pending', app_name: 'app-c' },
    });
    expect(await claimDeliveries(db, { nodeId: 'n2', limit: 5, leaseMs: 300 })).toEqual([]);
    // The lease runs out: another node takes it, same message id.
    await db.query(
      `UPDATE queue_webhook_deliveries SET next_attempt_at = now() - interval '1 second'
        WHERE id = $1`,
      [first!.id],
    );
    const [second] = await claimDeliveries(db, { nodeId: 'n2', limit: 5, leaseMs: 60_000 });
    expect(second).toMatchObject({ id: first!.id, messageId: first!.messageId, attempt: 2 });

    const attempt = (claimed: typeof first, ok: boolean, statusCode: number | null) =>
      recordAttempt(db, {
        deliveryId: claimed!.id,
        attempt: claimed!.attempt,
        ok,
        retryInMs: 1000,
        giveUpAfterMs: 86_400_000,
        statusCode,
        error: ok ? null : 'no',
        durationMs: 5,
        nodeId: 'n',
      });
    expect(await attempt(first, false, 500)).toBeUndefined();
    expect(await attempt(second, true, 200)).toBe('delivered');
    const logged = await db.query<{ attempt: number; status_code: number }>(
      'SELECT attempt, status_code FROM queue_webhook_attempts WHERE delivery_id = $1 ORDER BY id',
      [first!.id],
    );
    expect(logged).toEqual([
      { attempt: 1, status_code: 500 },
      { attempt: 2, status_code: 200 },
    ]);
  });

  it('fails a delivery that still fails past the give-up deadline, retries one before it', async () => {
    const id = await insertTask('app-d');
    await db.query(`UPDATE queue_tasks SET status = 'completed' WHERE id = $1`, [id]);
    const [claimed] = await claimDeliveries(db, { nodeId: 'n1', limit: 1, leaseMs: 60_000 });
    const record = { attempt: 1, ok: false, statusCode: null, error: 'refused', durationMs: 1 };
    expect(
      await recordAttempt(db, {
        ...record,
        deliveryId: claimed!.id,
        retryInMs: 3_600_000,
        giveUpAfterMs: 86_400_000,
        nodeId: 'n1',
      }),
    ).toBe('pending');
    // Never scheduled past the deadline: created_at + give-up.
    const [row] = await db.query<{ capped: boolean }>(
      `SELECT next_attempt_at <= created_at + interval '1 day' AS capped
         FROM queue_webhook_deliveries WHERE id = $1`,
      [claimed!.id],
    );
    expect(row!.capped).toBe(true);
    await db.query(
      `UPDATE queue_webhook_deliveries SET created_at = now() - interval '2 days',
              next_attempt_at = now() WHERE id = $1`,
      [claimed!.id],
    );
    const [again] = await claimDeliveries(db, { nodeId: 'n1', limit: 1, leaseMs: 60_000 });
    expect(
      await recordAttempt(db, {
        ...record,
        attempt: again!.attempt,
        deliveryId: again!.id,
        retryInMs: 1000,
        giveUpAfterMs: 86_400_000,
        nodeId: 'n1',
      }),
    ).toBe('failed');
    expect(await claimDeliveries(db, { nodeId: 'n1', limit: 5, leaseMs: 60_000 })).toEqual([]);
  });
});

describe('a stopping sender', () => {
  it('cuts its requests short and leaves them due at once for any node', async () => {
    const receiver = await startWebhookReceiver();
    receiver.respond = () => 'hold';
    const config = loadConfig({ WEBHOOK_TIMEOUT: '30', WEBHOOK_POLL_INTERVAL: '0.05' }).webhooks;
    const sender = new WebhookSender({ database: db, nodeId: 'stopping', config, logger });
    try {
      await db.query(
        `INSERT INTO queue_webhooks (name, url, events, app_name, secret, created_by)
         VALUES ('held', $1, '{task.completed}', 'app-e', 'whsec_x', 't')`,
        [receiver.url],
      );
      const id = await insertTask('app-e');
      await db.query(`UPDATE queue_tasks SET status = 'completed' WHERE id = $1`, [id]);
      sender.start();
      await waitFor(() => receiver.requests.length === 1, { what: 'the request' });
      const started = Date.now();
      await sender.stop();
      expect(Date.now() - started).toBeLessThan(5_000);
      const [row] = await db.query<{ status: string; due: boolean; error: string }>(
        `SELECT d.status, d.next_attempt_at <= now() AS due, a.error
           FROM queue_webhook_deliveries d
           JOIN queue_webhooks w ON w.id = d.webhook_id AND w.name = 'held'
           JOIN queue_webhook_attempts a ON a.delivery_id = d.id`,
      );
      expect(row).toEqual({
        status: 'pending',
        due: true,
        error: 'interrupted: the sending node stopped',
      });
    } finally {
      await sender.stop();
      await receiver.close();
    }
  });
});
