// Roles on every route that changes the queue, over REST and tRPC alike: `admin` may do
// everything, `developer` enqueues golden paths only and cancels or retries only its own tasks,
// `read` changes nothing. The role is recorded in the task's metadata.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueClient, type QueueClient } from '@innominatus-queue/client';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const ADMIN = 'admin-token-4a1f';
const DEV = 'developer-token-8c2e';
const OTHER_DEV = 'developer-token-9d3f';
const READ = 'read-token-5b7a';

let database: TestDatabase;
let node: TestServer;

beforeAll(async () => {
  database = await createTestDatabase();
  // No workers: tasks stay pending, so cancel and retry answer at once.
  node = await startTestServer(database, {
    QUEUE_CONCURRENCY: '0',
    API_TOKENS: `${ADMIN}:alice:admin,${DEV}:dave:developer,${OTHER_DEV}:erin:developer,${READ}:rita:read`,
  });
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

const inlineSpec = (name: string) => ({
  apiVersion: 'score.dev/v1b1' as const,
  metadata: { name },
  containers: { web: { image: 'nginx' } },
  workflow: { steps: [{ name: 'hello', type: 'bash', config: { command: 'echo hi' } }] },
});
const goldenSpec = (name: string) => {
  const { workflow: _workflow, ...spec } = inlineSpec(name);
  return spec;
};

async function rest(
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

async function metadataOf(taskId: string): Promise<unknown> {
  const [row] = await node.server.services.database.query<{ metadata: unknown }>(
    'SELECT metadata FROM queue_tasks WHERE task_id = $1',
    [taskId],
  );
  return row?.metadata;
}

const client = (token?: string): QueueClient =>
  createQueueClient({ url: node.url, ...(token ? { token } : {}), retries: 0 });

describe('enqueueing a spec with an inline workflow', () => {
  it('is for admin tokens only (REST)', async () => {
    const admin = await rest('/api/specs', ADMIN, inlineSpec('inline-admin'));
    expect(admin.status).toBe(202);
    expect(await metadataOf(admin.body.task_id)).toEqual({
      source: 'api',
      user: 'alice',
      role: 'admin',
    });

    const developer = await rest('/api/specs', DEV, inlineSpec('inline-dev'));
    expect(developer.status).toBe(403);
    expect(developer.body.error.message).toBe(
      "User 'dave' has a developer token, which runs golden paths only: a spec with its own inline workflow (workflow.steps) needs an admin token. Remove the spec's workflow section and pick a golden path (golden_path; list: GET /api/golden-paths).",
    );
    expect((await rest('/api/specs', READ, inlineSpec('inline-read'))).status).toBe(403);
    expect((await rest('/api/specs', undefined, inlineSpec('inline-anon'))).status).toBe(401);
  });

  it('is for admin tokens only (tRPC)', async () => {
    const admin = await client(ADMIN).enqueueSpec({ spec: inlineSpec('trpc-inline-admin') });
    expect(await metadataOf(admin.task_id)).toEqual({
      source: 'trpc',
      user: 'alice',
      role: 'admin',
    });
    await expect(
      client(DEV).enqueueSpec({ spec: inlineSpec('trpc-inline-dev') }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
      httpStatus: 403,
      message: expect.stringContaining('inline workflow (workflow.steps) needs an admin token'),
    });
    await expect(
      client(READ).enqueueSpec({ spec: inlineSpec('trpc-inline-read') }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      client().enqueueSpec({ spec: inlineSpec('trpc-inline-anon') }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('enqueueing a golden path', () => {
  it('is for admin and developer tokens (REST)', async () => {
    const developer = await rest('/api/specs?golden_path=ephemeral-env', DEV, goldenSpec('gp-dev'));
    expect(developer.status).toBe(202);
    expect(await metadataOf(developer.body.task_id)).toEqual({
      source: 'api',
      user: 'dave',
      role: 'developer',
    });
    expect((await rest('/api/specs', ADMIN, goldenSpec('gp-admin'))).status).toBe(202);
    const reader = await rest('/api/specs', READ, goldenSpec('gp-read'));
    expect(reader.status).toBe(403);
    expect(reader.body.error.message).toBe(
      "User 'rita' has a read-only token and cannot change the queue.",
    );
  });

  it('is for admin and developer tokens (tRPC)', async () => {
    const developer = await client(DEV).enqueueSpec({ spec: goldenSpec('trpc-gp-dev') });
    expect(await metadataOf(developer.task_id)).toEqual({
      source: 'trpc',
      user: 'dave',
      role: 'developer',
    });
    await client(ADMIN).enqueueSpec({ spec: goldenSpec('trpc-gp-admin') });
    await expect(
      client(READ).enqueueSpec({ spec: goldenSpec('trpc-gp-read') }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('shows the role in the task metadata of the reads', async () => {
    const { task_id } = await client(DEV).enqueueSpec({ spec: goldenSpec('read-role') });
    expect((await client(READ).task(task_id)).metadata).toEqual({
      source: 'trpc',
      user: 'dave',
      role: 'developer',
    });
  });
});

describe('cancel and retry', () => {
  async function tasksOfDaveAndAlice() {
    const dave = (await client(DEV).enqueueSpec({ spec: goldenSpec('dave-app') })).task_id;
    const alice = (await client(ADMIN).enqueueSpec({ spec: goldenSpec('alice-app') })).task_id;
    return { dave, alice };
  }

  it('a developer changes only its own tasks (REST)', async () => {
    const { dave, alice } = await tasksOfDaveAndAlice();
    const refused = await rest(`/api/queue/tasks/${alice}/cancel`, DEV);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe(
      `User 'dave' has a developer token and may cancel only the tasks it created; task ${alice} was created by 'alice'.`,
    );
    expect((await rest(`/api/queue/tasks/${dave}/cancel`, OTHER_DEV)).status).toBe(403);
    expect((await rest(`/api/queue/tasks/${dave}/cancel`, READ)).status).toBe(403);
    expect((await rest(`/api/queue/tasks/${dave}/cancel`, undefined)).status).toBe(401);
    expect((await rest(`/api/queue/tasks/${dave}/cancel`, DEV)).body.status).toBe('cancelled');
    expect((await rest(`/api/queue/tasks/${alice}/cancel`, ADMIN)).body.status).toBe('cancelled');

    const retryRefused = await rest(`/api/queue/tasks/${alice}/retry`, DEV);
    expect(retryRefused.status).toBe(403);
    expect(retryRefused.body.error.message).toMatch(/may retry only the tasks it created/);
    expect((await rest(`/api/queue/tasks/${dave}/retry`, OTHER_DEV)).status).toBe(403);
    expect((await rest(`/api/queue/tasks/${dave}/retry`, READ)).status).toBe(403);
    expect((await rest(`/api/queue/tasks/${dave}/retry`, undefined)).status).toBe(401);
    expect((await rest(`/api/queue/tasks/${dave}/retry`, DEV)).body.status).toBe('pending');
    // An admin changes anyone's task.
    expect((await rest(`/api/queue/tasks/${alice}/retry`, ADMIN)).body.status).toBe('pending');
    expect((await rest(`/api/queue/tasks/${dave}/cancel`, ADMIN)).body.status).toBe('cancelled');
  });

  it('a developer changes only its own tasks (tRPC)', async () => {
    const { dave, alice } = await tasksOfDaveAndAlice();
    await expect(client(DEV).cancelTask(alice)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('may cancel only the tasks it created'),
    });
    await expect(client(OTHER_DEV).cancelTask(dave)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(client(READ).cancelTask(dave)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(client().cancelTask(dave)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await client(DEV).cancelTask(dave)).status).toBe('cancelled');
    expect((await client(ADMIN).cancelTask(alice)).status).toBe('cancelled');

    await expect(client(DEV).retryTask(alice)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('may retry only the tasks it created'),
    });
    await expect(client(OTHER_DEV).retryTask(dave)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(client(READ).retryTask(dave)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(client().retryTask(dave)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await client(DEV).retryTask(dave)).status).toBe('pending');
    expect((await client(ADMIN).retryTask(alice)).status).toBe('pending');
  });

  it('answers 404, not 403, for a task that does not exist', async () => {
    const missing = 'task-1-1';
    expect((await rest(`/api/queue/tasks/${missing}/cancel`, DEV)).status).toBe(404);
    await expect(client(DEV).retryTask(missing)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('batch enqueue', () => {
  it('refuses a developer batch whose specs carry an inline workflow, naming them (REST and tRPC)', async () => {
    const specs = [{ spec: goldenSpec('batch-ok') }, { spec: inlineSpec('batch-inline') }];
    const developer = await rest('/api/specs/batch', DEV, { specs });
    expect(developer.status).toBe(403);
    expect(developer.body.error.message).toContain('specs[1]');
    const viaTrpc = await client(DEV)
      .enqueueSpecs({ specs })
      .catch((e: unknown) => e);
    expect(viaTrpc).toMatchObject({ code: 'FORBIDDEN' });
    const [row] = await node.server.services.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM queue_tasks WHERE app_name LIKE 'batch-%'",
    );
    expect(row!.n).toBe(0);
    const admin = await rest('/api/specs/batch', ADMIN, { specs });
    expect(admin.status).toBe(202);
    expect(await metadataOf(admin.body.tasks[1].task_id)).toEqual({
      source: 'api',
      user: 'alice',
      role: 'admin',
    });
  });
});
