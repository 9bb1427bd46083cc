// Pause and resume: per application and cluster-wide, admin only, stored in the database (so
// every node stops claiming at once, and a restart keeps it); enqueueing goes on while paused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/testDatabase.js';
import {
  getJson,
  postSpec,
  specYaml,
  startTestServer,
  TOKEN,
  type TestServer,
} from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const READ_TOKEN = 'read-token';
let database: TestDatabase;
let node: TestServer;
let other: TestServer | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  const env = { API_TOKENS: `${TOKEN}:admin-user,${READ_TOKEN}:viewer:read` };
  node = await startTestServer(database, env);
  // On PostgreSQL a second node shows that a pause holds for the whole cluster.
  if (onPostgres) other = await startTestServer(database, env);
});
afterAll(async () => {
  await other?.stop();
  await node?.stop();
  await database?.drop();
});

async function post(path: string, body?: unknown, token = TOKEN) {
  const response = await fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function enqueue(app: string, on = node): Promise<string> {
  const { status, body } = await postSpec(on.url, specYaml(app, ['true']));
  expect(status).toBe(202);
  return body.task_id as string;
}

const status = async (taskId: string) => (await node.client.task(taskId)).status;
const completed = (taskId: string) =>
  waitFor(async () => (await status(taskId)) === 'completed', {
    what: `task ${taskId} to complete`,
  });

describe('pause and resume', () => {
  it('is admin only', async () => {
    expect((await post('/api/queue/pause', undefined, READ_TOKEN)).status).toBe(403);
    expect((await post('/api/queue/resume', {}, 'wrong')).status).toBe(401);
  });

  it('pauses one application while the others run, and resumes it', async () => {
    const paused = await post('/api/queue/pause', { app_name: 'app-a' });
    expect(paused).toMatchObject({ status: 200, body: { app_name: 'app-a', paused: true } });
    const list = await getJson(node.url, '/api/queue/paused');
    expect(list.body).toMatchObject({
      cluster_paused: false,
      pauses: [{ app_name: 'app-a', paused_by: 'admin-user' }],
    });
    const a = await enqueue('app-a');
    const b = await enqueue('app-b', other ?? node);
    await completed(b);
    expect(await status(a)).toBe('pending');
    await post('/api/queue/resume', { app_name: 'app-a' });
    await completed(a);
    expect((await node.client.pauses()).pauses).toEqual([]);
  });

  it('pauses the whole cluster through the SDK', async () => {
    await node.client.pauseQueue();
    expect((await node.client.pauses()).cluster_paused).toBe(true);
    const task = await enqueue('app-b', other ?? node);
    // Claims run within milliseconds of an enqueue; a paused task is still waiting well after.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await status(task)).toBe('pending');
    await node.client.resumeQueue();
    await completed(task);
  });

  it('names a bad application name', async () => {
    const { status: code, body } = await post('/api/queue/pause', { app_name: 'Not An App' });
    expect(code).toBe(400);
    expect(JSON.stringify(body)).toContain('app_name');
  });
});
