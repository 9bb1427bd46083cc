// The node answers plain tRPC calls itself (server/api/trpcRoute.ts) instead of through tRPC's
// Fastify handler. Every answer must be the one tRPC's own handler gives: the same request goes to
// the node and to a bare Fastify app with fastifyTRPCPlugin over the node's own services, and the
// status, the JSON and the headers a client reads must be equal.
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../server/api/auth.js';
import { appRouter, type AppRouter } from '../../server/api/router.js';
import { plainCall } from '../../server/api/trpcRoute.js';
import { errorHeaders } from '../../server/errors.js';
import type { ScoreSpec } from '../../shared/spec.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let database: TestDatabase;
let node: TestServer;
let reference: FastifyInstance;
let referenceUrl: string;

const ADMIN = { authorization: 'Bearer admin-token-1' };
const READER = { authorization: 'Bearer reader-token-1' };
const JSON_TYPE = { 'content-type': 'application/json' };

const spec = (name: string): ScoreSpec => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name },
  containers: { web: { image: 'nginx:latest' } },
  workflow: { steps: [] },
});

beforeAll(async () => {
  database = await createTestDatabase();
  node = await startTestServer(database, {
    API_TOKENS: 'admin-token-1:alice,reader-token-1:bob:read,limited-token-1:carol',
    QUEUE_CONCURRENCY: '0',
    ENQUEUE_RATE_LIMIT: '0.001',
    ENQUEUE_RATE_BURST: '3',
  });
  const authenticator = createAuthenticator(node.config, node.server.services.logger);
  reference = Fastify();
  await reference.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: ({ req }) => ({
        services: node.server.services,
        auth: authenticator.authenticate(req.headers.authorization),
        source: 'trpc' as const,
      }),
      responseMeta: ({ errors }) => ({
        headers: Object.assign({}, ...errors.map((e) => errorHeaders(e))) as Record<string, string>,
      }),
    },
  } satisfies FastifyTRPCPluginOptions<AppRouter>);
  referenceUrl = await reference.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await reference?.close();
  await node?.stop();
  await database?.drop();
});

interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string | null>;
}

async function call(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const response = await fetch(`${base}/trpc/${path}`, { method, ...init });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
    headers: Object.fromEntries(
      ['content-type', 'vary', 'retry-after', 'allow'].map((name) => [
        name,
        response.headers.get(name),
      ]),
    ),
  };
}

/** The node's answer and tRPC's own, for the same request. */
async function both(
  method: 'GET' | 'POST',
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<{ ours: Answer; theirs: Answer }> {
  return {
    ours: await call(node.url, method, path, init),
    theirs: await call(referenceUrl, method, path, init),
  };
}

const input = (value: unknown) => `input=${encodeURIComponent(JSON.stringify(value))}`;

describe("plain tRPC calls are answered as tRPC's own handler answers them", () => {
  it.each([
    ['a query without input', 'queueStats'],
    ['a query with input', `tasks?${input({ limit: 2 })}`],
    ['an input that fails validation (details name the field)', `tasks?${input({ limit: -1 })}`],
    ['an unknown task (NOT_FOUND)', `task?${input({ taskId: 'task-1-1' })}`],
    ['a secret read without a token (UNAUTHORIZED)', `task?${input({ taskId: 'task-1-1' })}`, {}],
    ['an input that is not JSON (left to tRPC)', 'tasks?input=%7Bnope'],
    ['a query sent as a mutation would be (left to tRPC)', 'enqueueSpec'],
    ['an unknown procedure (left to tRPC)', 'noSuchProcedure'],
  ])('GET: %s', async (_what, path, headers: Record<string, string> = ADMIN) => {
    const { ours, theirs } = await both('GET', path, { headers });
    expect(ours).toEqual(theirs);
  });

  it.each([
    ['a spec that fails validation', { spec: { apiVersion: 'score.dev/v1b1' } }, ADMIN],
    ['a read-only token (FORBIDDEN)', { spec: spec('forbidden-app') }, READER],
    ['no token (UNAUTHORIZED)', { spec: spec('anonymous-app') }, {}],
    ['no input at all', undefined, ADMIN],
  ])('POST enqueueSpec: %s', async (_what, body, headers) => {
    const { ours, theirs } = await both('POST', 'enqueueSpec', {
      headers: { ...headers, ...JSON_TYPE },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(ours).toEqual(theirs);
    expect(ours.status).toBeGreaterThanOrEqual(400);
  });

  it.each([
    ['a body that is not JSON', 'enqueueSpec', '{"spec":', JSON_TYPE],
    ['a mutation sent as a query would be', 'queueStats', '{}', JSON_TYPE],
    ['a body that is not JSON by its type', 'enqueueSpec', '{}', { 'content-type': 'text/plain' }],
  ])('POST, left to tRPC: %s', async (_what, path, body, type) => {
    const { ours, theirs } = await both('POST', path, { headers: { ...ADMIN, ...type }, body });
    expect(ours).toEqual(theirs);
    expect(ours.status).toBeGreaterThanOrEqual(400);
  });

  it('a refusal for the rate carries the same Retry-After', async () => {
    const headers = { authorization: 'Bearer limited-token-1', ...JSON_TYPE };
    const body = JSON.stringify({ spec: spec('limited-app') });
    // The burst is spent on the node; both servers share its limiter.
    for (let i = 0; i < 3; i++) {
      expect((await call(node.url, 'POST', 'enqueueSpec', { headers, body })).status).toBe(200);
    }
    const { ours, theirs } = await both('POST', 'enqueueSpec', { headers, body });
    expect(ours.status).toBe(429);
    expect(ours.headers['retry-after']).toMatch(/^\d+$/);
    expect(ours).toEqual(theirs);
  });

  it('a successful mutation: the same shape, and the task stored once', async () => {
    const body = JSON.stringify({ spec: spec('direct-app') });
    const { ours, theirs } = await both('POST', 'enqueueSpec', {
      headers: { ...ADMIN, ...JSON_TYPE },
      body,
    });
    expect(ours.status).toBe(200);
    expect(ours.headers).toEqual(theirs.headers);
    const shape = (answer: Answer) => ({
      ...answer,
      body: JSON.stringify(answer.body).replace(/task-\d+-\d+/, 'task-id'),
    });
    expect(shape(ours)).toEqual(shape(theirs));
    const rows = await node.server.services.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM queue_tasks WHERE app_name = 'direct-app'",
    );
    expect(rows[0]?.n).toBe(2);
  });
});

describe('which calls the node answers itself', () => {
  const request = (
    method: string,
    options: { query?: Record<string, string>; headers?: Record<string, string>; body?: string },
  ) =>
    ({
      method,
      query: options.query ?? {},
      headers: options.headers ?? {},
      body: options.body,
    }) as unknown as FastifyRequest;

  it('a query by GET and a mutation by POST with a JSON body, as the SDK sends them', async () => {
    const stats = await plainCall(request('GET', {}), 'queueStats');
    expect(stats?.input).toBeUndefined();
    const tasks = await plainCall(request('GET', { query: { input: '{"limit":2}' } }), 'tasks');
    expect(tasks?.input).toEqual({ limit: 2 });
    const enqueue = await plainCall(
      request('POST', { headers: JSON_TYPE, body: '{"spec":{}}' }),
      'enqueueSpec',
    );
    expect(enqueue?.input).toEqual({ spec: {} });
    expect(enqueue?.procedure._def.type).toBe('mutation');
  });

  it.each([
    ['a batch', request('GET', { query: { batch: '1', input: '{}' } }), 'queueStats'],
    [
      'a streamed call',
      request('POST', {
        headers: { ...JSON_TYPE, 'trpc-accept': 'application/jsonl' },
        body: '{}',
      }),
      'enqueueSpec',
    ],
    ['a subscription', request('GET', { query: { input: '{"taskId":"task-1-1"}' } }), 'onTask'],
    ['a mutation by GET', request('GET', {}), 'enqueueSpec'],
    ['a query by POST', request('POST', { headers: JSON_TYPE, body: '' }), 'queueStats'],
    ['a body that is not JSON', request('POST', { headers: JSON_TYPE, body: '{' }), 'enqueueSpec'],
    [
      'a body of another type',
      request('POST', { headers: { 'content-type': 'multipart/form-data' } }),
      'enqueueSpec',
    ],
    ['an unknown procedure', request('GET', {}), 'nope'],
    [
      'a method tRPC does not serve',
      request('PUT', { headers: JSON_TYPE, body: '{}' }),
      'enqueueSpec',
    ],
  ])('%s goes to tRPC', async (_what, req, path) => {
    expect(await plainCall(req, path)).toBeUndefined();
  });
});
