// Webhooks end to end on one node: registration over REST and tRPC, task events delivered and
// verified with `standardwebhooks`, retries after 500s under the same webhook-id, the attempts
// visible per webhook, and private targets refused when WEBHOOK_ALLOW_PRIVATE is false.
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../server/api/auth.js';
import { appRouter } from '../../server/api/router.js';
import { createCallerFactory } from '../../server/api/trpc.js';
import { putWebhook as putWebhookService } from '../../server/services/webhooks.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import {
  getJson,
  postSpec,
  specYaml,
  startTestServer,
  type TestServer,
} from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';

const ADMIN = 'admin-token-1';
const READER = 'reader-token-1';

let database: TestDatabase;
let node: TestServer;
let receiver: WebhookReceiver;

beforeAll(async () => {
  database = await createTestDatabase();
  receiver = await startWebhookReceiver();
  node = await startTestServer(database, {
    API_TOKENS: `${ADMIN}:alice,${READER}:bob:read`,
    WEBHOOK_POLL_INTERVAL: '0.05',
    WEBHOOK_RETRY_BASE_DELAY: '0.1',
    WEBHOOK_TIMEOUT: '2',
  });
});
afterAll(async () => {
  await node?.stop();
  await receiver?.close();
  await database?.drop();
});

async function putWebhook(name: string, body: object, token = ADMIN) {
  const response = await fetch(`${node.url}/api/webhooks/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function enqueue(app: string, command: string): Promise<string> {
  const { status, body } = await postSpec(node.url, specYaml(app, [command]), { token: ADMIN });
  expect(status).toBe(202);
  return body.task_id as string;
}

describe('webhook deliveries', () => {
  it('sends signed task events that standardwebhooks verifies, once per event', async () => {
    const created = await putWebhook('chat', {
      url: receiver.url,
      events: ['task.completed', 'task.failed'],
      app_name: 'hooked-app',
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    receiver.secret = created.body.secret as string;

    const ok = await enqueue('hooked-app', 'echo fine');
    const bad = await enqueue('hooked-app', 'exit 3');
    const other = await enqueue('other-app', 'echo elsewhere');
    const delivered = await waitFor(() => receiver.delivered().size >= 2 && receiver.delivered(), {
      what: 'two deliveries',
    });
    const payloads = [...delivered.values()];
    expect(payloads.map((p) => [p.type, p.data.task_id]).sort()).toEqual(
      [
        ['task.completed', ok],
        ['task.failed', bad],
      ].sort(),
    );
    const failed = payloads.find((p) => p.type === 'task.failed')!;
    expect(failed.data).toMatchObject({
      app_name: 'hooked-app',
      status: 'failed',
      previous_status: 'running',
      attempt: 1,
      error_message: expect.stringContaining('3'),
    });
    expect(receiver.requests.every((r) => r.verified !== undefined)).toBe(true);
    // Only the events subscribed to, only the application named.
    await waitFor(
      async () => (await getJson(node.url, '/api/queue/stats')).body.tasks_completed === 2,
    );
    expect(payloads.some((p) => p.data.task_id === other)).toBe(false);

    // The receiver answered; the sender records the attempt just after.
    const body = await waitFor(async () => {
      const { body } = await getJson(node.url, '/api/webhooks/chat', ADMIN);
      return body.deliveries.delivered === 2 && body;
    });
    expect(body.deliveries).toEqual({ pending: 0, delivered: 2, failed: 0 });
    expect(body.recent_attempts.map((a: any) => a.status_code)).toEqual([204, 204]);
    expect(body).not.toHaveProperty('secret');
    // The secret is shown once: a replacement without one keeps it and does not show it.
    const replaced = await putWebhook('chat', { url: receiver.url, events: ['task.cancelled'] });
    expect(replaced.status).toBe(200);
    expect(replaced.body.secret).toBeUndefined();
    expect(
      (
        await fetch(`${node.url}/api/webhooks/chat`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${ADMIN}` },
        })
      ).status,
    ).toBe(200);
  });

  it('retries after 500s with the same webhook-id, and shows each attempt', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    receiver.secret = secret;
    receiver.requests.length = 0;
    let calls = 0;
    receiver.respond = () => (++calls <= 2 ? 500 : 200);
    const created = await putWebhook('flaky', {
      url: receiver.url,
      events: ['task.completed'],
      secret,
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toBeUndefined();

    const task = await enqueue('flaky-app', 'echo fine');
    await waitFor(() => receiver.delivered().size === 1, { what: 'the delivery after retries' });
    expect(receiver.requests.map((r) => r.answered)).toEqual([500, 500, 200]);
    expect(new Set(receiver.requests.map((r) => r.id)).size).toBe(1);
    expect([...receiver.delivered().values()][0]!.data.task_id).toBe(task);

    const flaky = await waitFor(async () => {
      const { body } = await getJson(node.url, '/api/webhooks', ADMIN);
      const found = body.webhooks.find((w: any) => w.name === 'flaky');
      return found.deliveries.delivered === 1 && found;
    });
    expect(flaky.deliveries).toEqual({ pending: 0, delivered: 1, failed: 0 });
    expect(flaky.recent_attempts.map((a: any) => [a.attempt, a.status_code])).toEqual([
      [3, 200],
      [2, 500],
      [1, 500],
    ]);
    expect(flaky.recent_attempts[1].error).toBe('the receiver answered 500');
    receiver.respond = () => 204;
  });

  it('keeps the queue moving while a receiver hangs', async () => {
    receiver.requests.length = 0;
    receiver.respond = () => 'hold';
    await putWebhook('slow', { url: receiver.url, events: ['task.started', 'task.completed'] });
    const started = Date.now();
    const ids = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => enqueue(`slow-${i}`, 'true')));
    await waitFor(
      async () => {
        const { body } = await getJson(node.url, '/api/queue/tasks?limit=100');
        return ids.every((id) =>
          body.tasks.some((t: any) => t.id === id && t.status === 'completed'),
        );
      },
      { what: 'the tasks to complete' },
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    receiver.respond = () => 204;
    await fetch(`${node.url}/api/webhooks/slow`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
  });

  it('tRPC procedures call the same service, admin only', async () => {
    const authenticator = createAuthenticator(node.config, node.server.services.logger);
    const caller = (token: string) =>
      createCallerFactory(appRouter)({
        services: node.server.services,
        auth: authenticator.authenticate(`Bearer ${token}`),
        source: 'trpc',
      });
    const admin = caller(ADMIN);
    const put = await admin.putWebhook({
      name: 'trpc-hook',
      webhook: { url: receiver.url, events: ['task.cancelled'] },
    });
    expect(put).toMatchObject({
      created: true,
      webhook: { name: 'trpc-hook', created_by: 'alice' },
    });
    expect((await admin.webhooks()).webhooks.map((w) => w.name)).toContain('trpc-hook');
    expect(await admin.webhook({ name: 'trpc-hook' })).toEqual(put.webhook);
    await expect(caller(READER).webhooks()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await admin.deleteWebhook({ name: 'trpc-hook' })).toEqual({
      name: 'trpc-hook',
      deleted: true,
    });
    await expect(admin.deleteWebhook({ name: 'trpc-hook' })).rejects.toBeInstanceOf(TRPCError);
  });
});

describe('with WEBHOOK_ALLOW_PRIVATE=false', () => {
  it('refuses loopback and private targets, by address and by name', async () => {
    // The service with this node's database and the setting off (no second server needed).
    const services = {
      database: node.server.services.database,
      config: { ...node.config, webhooks: { ...node.config.webhooks, allowPrivate: false } },
    };
    const principal = { user: 'alice', role: 'admin' as const, tokenId: 'x' };
    for (const url of [
      receiver.url,
      receiver.url.replace('127.0.0.1', 'localhost'),
      'http://10.1.2.3/x',
      'http://[::1]:8/x',
      'http://[::ffff:192.168.0.1]/x',
      'http://169.254.169.254/latest',
    ]) {
      await expect(
        putWebhookService(services, 'internal', { url, events: ['task.completed'] }, principal),
        url,
      ).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('WEBHOOK_ALLOW_PRIVATE'),
      });
    }
    expect((await getJson(node.url, '/api/webhooks', ADMIN)).body.webhooks).not.toContainEqual(
      expect.objectContaining({ name: 'internal' }),
    );
  });
});
