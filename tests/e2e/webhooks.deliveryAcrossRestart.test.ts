// Webhook deliveries outlive the node that should send them: a server process killed with SIGKILL
// while its requests hang leaves every event to the next node, which delivers each one (same
// webhook-id, signature verified by standardwebhooks). Needs PostgreSQL (several processes).
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/serverProcess.js';
import {
  createTestDatabase,
  onPostgres,
  POSTGRES_ONLY_MESSAGE,
  type TestDatabase,
} from '../helpers/testDatabase.js';
import { getJson, postSpec, specYaml, TOKEN } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';

let database: TestDatabase | undefined;
let receiver: WebhookReceiver | undefined;
let nodes: ServerProcess[] = [];

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  nodes = [];
  await receiver?.close();
  await database?.drop();
});

const TASKS = 8;
const SECRET = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;

describe.skipIf(!onPostgres)(
  `webhooks across a restart (${onPostgres ? 'PostgreSQL' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    it('delivers every event after the sending node is killed mid-request', async () => {
      database = await createTestDatabase();
      receiver = await startWebhookReceiver();
      receiver.secret = SECRET;
      receiver.respond = () => 'hold';
      const env = {
        ...database.env,
        LOG_LEVEL: 'info',
        WEBHOOK_TIMEOUT: '2',
        WEBHOOK_POLL_INTERVAL: '0.1',
        WEBHOOK_RETRY_BASE_DELAY: '0.2',
      };
      const first = startServerProcess(env);
      nodes.push(first);
      const url = await first.url();
      const put = await fetch(`${url}/api/webhooks/cd`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: receiver.url, events: ['task.completed'], secret: SECRET }),
      });
      expect(put.status).toBe(201);

      const taskIds: string[] = [];
      for (let i = 0; i < TASKS; i++) {
        const { status, body } = await postSpec(url, specYaml(`hook-${i}`, ['true']));
        expect(status).toBe(202);
        taskIds.push(body.task_id as string);
      }
      await waitFor(
        async () => (await getJson(url, '/api/queue/stats')).body.tasks_completed === TASKS,
        { what: 'the tasks to complete' },
      );
      // The node is sending (the receiver holds the requests): kill it mid-request.
      await waitFor(() => receiver!.requests.some((r) => r.answered === 0), {
        what: 'a request in flight',
      });
      const inFlight = new Set(receiver.requests.filter((r) => r.answered === 0).map((r) => r.id));
      expect(await first.stop('SIGKILL')).toBeNull();
      receiver.respond = () => 200;

      const second = startServerProcess(env);
      nodes.push(second);
      const url2 = await second.url();
      const delivered = await waitFor(
        () => receiver!.delivered().size === TASKS && receiver!.delivered(),
        { what: 'every event delivered by the second node', timeoutMs: 30_000 },
      );
      expect([...delivered.values()].map((p) => p.data.task_id as string).sort()).toEqual(
        [...taskIds].sort(),
      );
      expect(receiver.requests.every((r) => r.verified !== undefined)).toBe(true);
      // A message the first node was sending when it died went out again under the same id.
      expect([...inFlight].some((id) => delivered.has(id))).toBe(true);

      // The receiver answered; the sender records the attempt just after.
      const body = await waitFor(async () => {
        const { body } = await getJson(url2, '/api/webhooks/cd', TOKEN);
        return body.deliveries.delivered === TASKS && body;
      });
      expect(body.deliveries).toEqual({ pending: 0, delivered: TASKS, failed: 0 });
      expect(await second.stop('SIGTERM')).toBe(0);
    });
  },
);
