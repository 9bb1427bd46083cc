// Under Node the SDK sends queries and mutations through its own caller (client/src/jsonCaller.ts)
// instead of tRPC's client with httpLink. Every call must end as it does through tRPC's client: the
// same call goes through both, over the SDK's own transport, and the result, or the error's
// message, data, shape, HTTP status and the SDK error it becomes, must be equal. tRPC's client has
// resultOnceLink in front of httpLink, as in the SDK.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toQueueClientError } from '../../client/src/errors.js';
import { createJsonCaller } from '../../client/src/jsonCaller.js';
import { resultOnceLink } from '../../client/src/resultOnceLink.js';
import { createTransport } from '../../client/src/transport.js';
import type { AppRouter } from '../../server/api/router.js';
import type { ScoreSpec } from '../../shared/spec.js';
import { useTestNode } from '../helpers/testServer.js';

const testNode = useTestNode({
  API_TOKENS: 'admin-token-1:alice,reader-token-1:bob:read',
  QUEUE_CONCURRENCY: '0',
});

// A server that answers what a queue node never does: HTML from a proxy, JSON that is no tRPC answer.
let odd: http.Server;
let oddUrl: string;
beforeAll(async () => {
  odd = http.createServer((req, res) => {
    if (req.url?.includes('slow')) {
      const timer = setTimeout(() => res.end('{}'), 10_000);
      res.on('close', () => clearTimeout(timer));
    } else if (req.url?.includes('html')) {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad gateway</html>');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}');
    }
  });
  await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
  oddUrl = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => odd?.close(resolve));
});

const spec = (name: string): ScoreSpec => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name },
  containers: { web: { image: 'nginx:latest' } },
  workflow: { steps: [] },
});

type Client = ReturnType<typeof createTRPCClient<AppRouter>>;

/** tRPC's client with httpLink, and the SDK's caller, alike but for what sends the calls. */
function clients(baseUrl: string, token?: string): { reference: Client; lean: Client } {
  const headers = (): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  const url = `${baseUrl}/trpc`;
  return {
    reference: createTRPCClient<AppRouter>({
      links: [resultOnceLink(), httpLink({ url, headers, fetch: createTransport(5_000) })],
    }),
    lean: createJsonCaller<AppRouter>({ url, headers, fetch: createTransport(5_000) }),
  };
}

type Outcome =
  | { ok: true; data: unknown }
  | {
      ok: false;
      isClientError: boolean;
      message: string;
      data: unknown;
      shape: unknown;
      status: number | undefined;
      causeName: string | undefined;
      sdk: { code: string; httpStatus: number | undefined; details: unknown; message: string };
    };

async function outcome(run: () => Promise<unknown>, url: string): Promise<Outcome> {
  try {
    return { ok: true, data: await run() };
  } catch (error) {
    const meta = (error as TRPCClientError<AppRouter>).meta as
      { response?: { status: number } } | undefined;
    const sdk = toQueueClientError(error, url);
    return {
      ok: false,
      isClientError: error instanceof TRPCClientError,
      message: (error as Error).message,
      data: (error as TRPCClientError<AppRouter>).data,
      shape: (error as TRPCClientError<AppRouter>).shape,
      status: meta?.response?.status,
      causeName: (error as Error).cause ? ((error as Error).cause as Error).name : undefined,
      sdk: {
        code: sdk.code,
        httpStatus: sdk.httpStatus,
        details: sdk.details,
        message: sdk.message,
      },
    };
  }
}

/** Runs the call through both clients; they must end alike. Returns the lean client's outcome. */
async function same(
  baseUrl: string,
  token: string | undefined,
  run: (client: Client) => Promise<unknown>,
  normalize: (value: unknown) => unknown = (value) => value,
): Promise<Outcome> {
  const { reference, lean } = clients(baseUrl, token);
  const expected = await outcome(() => run(reference).then(normalize), baseUrl);
  const actual = await outcome(() => run(lean).then(normalize), baseUrl);
  expect(actual).toEqual(expected);
  return actual;
}

const withoutTaskId = (value: unknown): unknown => ({
  ...(value as Record<string, unknown>),
  task_id: typeof (value as { task_id?: unknown }).task_id,
});

describe("the SDK's caller answers as tRPC's client with httpLink does", () => {
  it('a query without input, and with input', async () => {
    const stats = await same(testNode.node.url, undefined, (c) => c.queueStats.query());
    expect(stats).toMatchObject({ ok: true, data: { tasks_enqueued: expect.any(Number) } });
    await same(testNode.node.url, 'admin-token-1', (c) => c.tasks.query({ limit: 5 }));
    const { task_id } = await clients(testNode.node.url, 'admin-token-1').lean.enqueueSpec.mutate({
      spec: spec('read-back'),
    });
    const task = await same(testNode.node.url, 'admin-token-1', (c) =>
      c.task.query({ taskId: task_id }),
    );
    expect(task).toMatchObject({ ok: true, data: { id: task_id, app_name: 'read-back' } });
  });

  it('a mutation, and a mutation whose input has several problems', async () => {
    const enqueued = await same(
      testNode.node.url,
      'admin-token-1',
      (c) => c.enqueueSpec.mutate({ spec: spec('lean-app'), priority: 3 }),
      withoutTaskId,
    );
    expect(enqueued).toEqual({
      ok: true,
      data: expect.objectContaining({ application: 'lean-app', task_id: 'string' }) as unknown,
    });
    const invalid = await same(testNode.node.url, 'admin-token-1', (c) =>
      c.enqueueSpec.mutate({
        spec: { ...spec('x'), apiVersion: 'nope', metadata: { name: '' } } as unknown as ScoreSpec,
      }),
    );
    expect(invalid).toMatchObject({ ok: false, status: 400, sdk: { code: 'BAD_REQUEST' } });
    expect((invalid as { sdk: { details: unknown[] } }).sdk.details.length).toBeGreaterThan(1);
  });

  it('refusals: no token, a reader token, an unknown task, an unknown procedure', async () => {
    const anonymous = await same(testNode.node.url, undefined, (c) =>
      c.enqueueSpec.mutate({ spec: spec('anon') }),
    );
    expect(anonymous).toMatchObject({ ok: false, status: 401, sdk: { code: 'UNAUTHORIZED' } });
    const reader = await same(testNode.node.url, 'reader-token-1', (c) =>
      c.cancelTask.mutate({ taskId: 'task-0000000000000000001-1' }),
    );
    expect(reader).toMatchObject({ ok: false, status: 403, sdk: { code: 'FORBIDDEN' } });
    const missing = await same(testNode.node.url, 'admin-token-1', (c) =>
      c.task.query({ taskId: 'task-0000000000000000001-1' }),
    );
    expect(missing).toMatchObject({ ok: false, status: 404, sdk: { code: 'NOT_FOUND' } });
    const unknown = await same(testNode.node.url, 'admin-token-1', (c) =>
      (c as unknown as { noSuchThing: { query: () => Promise<unknown> } }).noSuchThing.query(),
    );
    expect(unknown).toMatchObject({ ok: false, status: 404, sdk: { code: 'NOT_FOUND' } });
  });

  it('answers that are not tRPC answers, and a server that is not there', async () => {
    const html = await same(`${oddUrl}/html`, undefined, (c) => c.queueStats.query());
    expect(html).toMatchObject({
      ok: false,
      isClientError: true,
      status: undefined,
      causeName: 'SyntaxError',
      sdk: { code: 'NETWORK_ERROR' },
    });
    const notTrpc = await same(oddUrl, undefined, (c) => c.queueStats.query());
    expect(notTrpc).toMatchObject({ ok: false, isClientError: true, status: 200 });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await same(`http://127.0.0.1:${port}`, undefined, (c) => c.queueStats.query());
    expect(refused).toMatchObject({ ok: false, sdk: { code: 'NETWORK_ERROR' } });
    expect((refused as { sdk: { message: string } }).sdk.message).toContain('connection refused');
  });

  it("a caller's signal stops a call in flight", async () => {
    const outcome = await same(`${oddUrl}/slow`, undefined, (c) =>
      c.queueStats.query(undefined, { signal: AbortSignal.timeout(100) }),
    );
    expect(outcome).toMatchObject({
      ok: false,
      isClientError: true,
      causeName: 'AbortError',
      sdk: { code: 'TIMEOUT' },
    });
  });

  it("a caller's signal still cancels the request", async () => {
    const { reference, lean } = clients(testNode.node.url);
    for (const client of [reference, lean]) {
      const controller = new AbortController();
      controller.abort();
      await expect(
        client.queueStats.query(undefined, { signal: controller.signal }),
      ).rejects.toBeInstanceOf(TRPCClientError);
    }
  });

  it('is no thenable, and sends no subscriptions', async () => {
    const { lean } = clients(testNode.node.url);
    // Awaiting the caller itself must not wait forever on a `then` it does not have.
    expect(await Promise.resolve(lean)).toBe(lean);
    expect(() => lean.onStats.subscribe(undefined, {})).toThrow(/onStats: subscriptions go/);
    // The same procedure object every time: nothing is built per call.
    expect(lean.queueStats).toBe(lean.queueStats);
  });
});
