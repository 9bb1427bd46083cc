// The tRPC router over real HTTP with the typed client, and in-process through createCaller:
// the same services, the same shapes, the same errors as REST.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueClient, QueueClientError } from '@innominatus-queue/client';
import { createAuthenticator } from '../../server/api/auth.js';
import { appRouter } from '../../server/api/router.js';
import { createCallerFactory } from '../../server/api/trpc.js';
import type { ScoreSpec } from '../../shared/spec.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { getJson, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase;
let node: TestServer;

const spec = (name: string, command = 'echo hello'): ScoreSpec => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name },
  containers: { web: { image: 'nginx:latest' } },
  workflow: { steps: [{ name: 'greet', type: 'bash', config: { command } }] },
});

beforeAll(async () => {
  database = await createTestDatabase();
  node = await startTestServer(database, {
    API_TOKENS: 'admin-token-1:alice,reader-token-1:bob:read',
  });
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

describe('tRPC over HTTP with the typed client', () => {
  it('enqueueSpec returns the guide body and the task runs', async () => {
    const client = createQueueClient({ url: node.url, token: 'admin-token-1' });
    const response = await client.enqueueSpec({ spec: spec('trpc-app') });
    expect(response).toEqual({
      message: "Golden path 'deploy-app' enqueued successfully",
      application: 'trpc-app',
      task_id: expect.stringMatching(/^task-\d{19}-\d+$/),
      status: 'enqueued',
    });
    await waitFor(async () => (await client.queueStats()).tasks_completed === 1, {
      what: 'completion',
    });
    const [row] = await node.server.services.database.query<{ metadata: unknown }>(
      'SELECT metadata FROM queue_tasks WHERE task_id = $1',
      [response.task_id],
    );
    expect(row?.metadata).toEqual({ source: 'trpc', user: 'alice', role: 'admin' });
  });

  it('queueStats and activeTasks match the REST answers', async () => {
    const client = createQueueClient({ url: node.url });
    expect(await client.queueStats()).toEqual((await getJson(node.url, '/api/queue/stats')).body);
    expect(await client.activeTasks()).toEqual(
      (await getJson(node.url, '/api/queue/active-tasks')).body,
    );
  });

  it('refuses an enqueue without a token (UNAUTHORIZED) and with a read-only one (FORBIDDEN)', async () => {
    const anonymous = createQueueClient({ url: node.url });
    await expect(anonymous.enqueueSpec({ spec: spec('nope') })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      httpStatus: 401,
    });
    const reader = createQueueClient({ url: node.url, token: 'reader-token-1' });
    await expect(reader.enqueueSpec({ spec: spec('nope') })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      httpStatus: 403,
    });
    // A read-only token reads.
    expect((await reader.queueStats()).workers).toBe(5);
  });

  it('the dev token is off once tokens are configured', async () => {
    const client = createQueueClient({ url: node.url, token: 'test-token' });
    await expect(client.enqueueSpec({ spec: spec('nope') })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });

  it('an invalid spec is BAD_REQUEST with the failing fields listed', async () => {
    const client = createQueueClient({ url: node.url, token: 'admin-token-1' });
    const bad = { ...spec('Bad Name'), containers: {} } as ScoreSpec;
    const error = await client.enqueueSpec({ spec: bad }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueClientError);
    const failure = error as QueueClientError;
    expect(failure.code).toBe('BAD_REQUEST');
    expect(failure.details?.map((d) => d.path)).toEqual(['spec.metadata.name', 'spec.containers']);
    // No server internals (stack traces) reach the client.
    expect(JSON.stringify((failure.cause as { shape?: unknown }).shape)).not.toContain('stack');
    expect((error as Error).message).toContain('spec.metadata.name: must be a DNS label');
  });

  it('an unknown golden path is NOT_FOUND', async () => {
    const client = createQueueClient({ url: node.url, token: 'admin-token-1' });
    const spec0 = spec('gp-app');
    delete spec0.workflow;
    await expect(client.enqueueSpec({ spec: spec0, goldenPath: 'missing' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('tRPC in-process through createCaller', () => {
  it('calls the same services', async () => {
    const authenticator = createAuthenticator(node.config, node.server.services.logger);
    const caller = createCallerFactory(appRouter)({
      services: node.server.services,
      auth: authenticator.authenticate('Bearer admin-token-1'),
      source: 'trpc',
    });
    const before = await caller.queueStats();
    const response = await caller.enqueueSpec({ spec: spec('caller-app', 'true') });
    expect(response.application).toBe('caller-app');
    await waitFor(
      async () => (await caller.queueStats()).tasks_completed === before.tasks_completed + 1,
      {
        what: 'completion',
      },
    );
    expect((await caller.activeTasks()).count).toBe(0);
  });
});
