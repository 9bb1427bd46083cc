// GET /api/openapi.json is a valid OpenAPI 3.1 document, it names every REST route, and what the
// routes really answer matches the schema the document gives for that path, method and status.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ADMIN = 'admin-token-1';
const READER = 'reader-token-1';
/** A token of its own, so exhausting its enqueue burst does not slow the other tests. */
const GREEDY = 'greedy-token-1';
/** Enqueues in batches: a token of its own, so the batches leave ADMIN's burst alone. */
const BATCHER = 'openapi-batcher-token';
const BURST = 10;

let database: TestDatabase;
let node: TestServer;
let doc: any;
let ajv: Ajv2020;
/** `METHOD /path/{param}` of every documented operation a test has had a success from. */
const exercised = new Set<string>();

beforeAll(async () => {
  database = await createTestDatabase();
  node = await startTestServer(database, {
    API_TOKENS: `${ADMIN}:alice,${READER}:bob:read,${GREEDY}:carol,${BATCHER}:dave`,
    BODY_LIMIT: '65536',
    // A burst per token and almost no refill: GREEDY runs out, ADMIN never enqueues that much.
    ENQUEUE_RATE_LIMIT: '0.001',
    ENQUEUE_RATE_BURST: String(BURST),
  });
  const response = await fetch(`${node.url}/api/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  doc = await response.json();
  exercised.add('GET /api/openapi.json');
  // The document's schemas, with their `#/components/schemas/X` refs pointed at one schema that
  // holds them all as $defs, so ajv resolves every ref.
  ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  ajv.addSchema({
    $id: 'https://queue.test/openapi.json',
    $defs: pointRefs(doc.components.schemas),
  });
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

function pointRefs<T>(schema: T): T {
  return JSON.parse(
    JSON.stringify(schema).replaceAll(
      '"#/components/schemas/',
      '"https://queue.test/openapi.json#/$defs/',
    ),
  ) as T;
}

const validators = new Map<string, ValidateFunction>();

function validatorFor(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(pointRefs(schema));
    validators.set(key, validate);
  }
  return validate;
}

function expectMatches(schema: object, value: unknown, what: string): void {
  const validate = validatorFor(schema);
  const valid = validate(value);
  expect(valid, `${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`).toBe(true);
}

/** The schema the document gives for this answer; the status must be documented as such. */
function documented(
  method: string,
  route: string,
  status: number,
  mediaType = 'application/json',
): any {
  const operation = doc.paths[route]?.[method.toLowerCase()];
  expect(operation, `${method} ${route} is documented`).toBeDefined();
  const response = operation.responses[String(status)];
  expect(response, `${method} ${route} documents ${status}`).toBeDefined();
  const content = response.content?.[mediaType];
  expect(content, `${method} ${route} ${status} documents ${mediaType}`).toBeDefined();
  return content;
}

interface Call {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The documented path, `{id}` and all. */
  route: string;
  /** The real URL path; the route when absent. */
  url?: string;
  query?: string;
  token?: string;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Calls a route for real, checks the status and that the JSON answer matches its schema. */
async function call(expected: number, options: Call): Promise<{ body: any; headers: Headers }> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.contentType) headers['content-type'] = options.contentType;
  const response = await fetch(`${node.url}${options.url ?? options.route}${options.query ?? ''}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await response.text();
  const what = `${method} ${options.url ?? options.route}${options.query ?? ''}`;
  expect(response.status, `${what}: ${text}`).toBe(expected);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text);
  expectMatches(documented(method, options.route, expected).schema, body, `${what} ${expected}`);
  if (expected < 300) exercised.add(`${method} ${options.route}`);
  return { body, headers: response.headers };
}

const spec = (name: string, command: string, retries = 0) => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name },
  containers: { web: { image: 'nginx:latest' } },
  workflow: { retries, steps: [{ name: 'only', type: 'bash', config: { command } }] },
});

async function enqueue(name: string, command: string): Promise<string> {
  const { body } = await call(202, {
    method: 'POST',
    route: '/api/specs',
    token: ADMIN,
    contentType: 'application/json',
    body: JSON.stringify(spec(name, command)),
  });
  return body.task_id as string;
}

async function finished(taskId: string): Promise<string> {
  return waitFor(
    async () => {
      const response = await fetch(`${node.url}/api/queue/tasks/${taskId}`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const { status } = (await response.json()) as { status: string };
      return ['completed', 'failed', 'cancelled'].includes(status) ? status : undefined;
    },
    { what: `task ${taskId} to finish`, timeoutMs: 20_000 },
  );
}

const taskRoute = '/api/queue/tasks/{id}';
const UNKNOWN_TASK = 'task-1-424242';

describe('the document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('carries the version of package.json and a bearer security scheme', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(doc.info.version).toBe(pkg.version);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(doc.paths['/api/queue/tasks/{id}'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/api/queue/stats'].get.security).toEqual([{}, { bearerAuth: [] }]);
    expect(doc.paths['/health'].get.security).toEqual([]);
  });

  it('names every route the REST adapter and the metrics route register', () => {
    const registered = [
      'server/api/restAdapter.ts',
      'server/api/metricsRoute.ts',
      'server/api/schedulingRoutes.ts',
    ].flatMap((file) =>
      [
        ...fs
          .readFileSync(path.join(ROOT, file), 'utf8')
          .matchAll(/app\.(get|post|put|patch|delete)\(\s*'([^']+)'/g),
      ].map(([, method, url]) => `${method!.toUpperCase()} ${url!.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documentedOps = Object.entries(doc.paths).flatMap(([route, item]) =>
      Object.keys(item as object).map((method) => `${method.toUpperCase()} ${route}`),
    );
    expect(registered.length).toBeGreaterThan(10);
    expect(documentedOps.sort()).toEqual(registered.sort());
  });

  it('documents every error answer with the shared error body', () => {
    for (const [route, item] of Object.entries<any>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        for (const [status, response] of Object.entries<any>(operation.responses)) {
          if (
            status === 'default' ||
            (Number(status) >= 400 && route !== '/health' && route !== '/ready')
          ) {
            expect(
              response.content['application/json'].schema,
              `${method} ${route} ${status}`,
            ).toEqual({
              $ref: '#/components/schemas/ErrorBody',
            });
          }
        }
      }
    }
  });

  it('documents the spec body as YAML text or a JSON ScoreSpec', () => {
    const content = doc.paths['/api/specs'].post.requestBody.content;
    for (const type of ['application/yaml', 'application/x-yaml', 'text/yaml']) {
      expect(content[type].schema.type).toBe('string');
    }
    expect(content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ScoreSpec' });
    const scoreSpec = { $ref: '#/components/schemas/ScoreSpec' };
    expectMatches(scoreSpec, spec('valid-app', 'true'), 'a valid spec');
    const noContainers = { apiVersion: 'score.dev/v1b1', metadata: { name: 'x' } };
    expect(validatorFor(scoreSpec)(noContainers)).toBe(false);
  });
});

describe('real answers match the documented schemas', () => {
  let completed: string;

  it('GET /livez, /health and /ready', async () => {
    expect((await call(200, { route: '/livez' })).body).toEqual({ status: 'ok' });
    expect((await call(200, { route: '/health' })).body.status).toBe('ok');
    expect((await call(200, { route: '/ready' })).body.ready).toBe(true);
  });

  it('POST /api/specs: 202, a 200 replay, YAML, and every refusal', async () => {
    const json = JSON.stringify(spec('openapi-app', 'echo hello'));
    const post = { method: 'POST' as const, route: '/api/specs', body: json };
    const asJson = { ...post, contentType: 'application/json' };
    const keyed = { ...asJson, token: ADMIN, headers: { 'idempotency-key': 'openapi-key-1' } };
    const first = await call(202, { ...keyed, query: '?priority=5&golden_path=deploy-app' });
    completed = first.body.task_id;
    const replay = await call(200, { ...keyed, query: '?priority=5&golden_path=deploy-app' });
    expect(replay.body.task_id).toBe(completed);
    await call(202, {
      ...post,
      token: ADMIN,
      contentType: 'text/yaml',
      body: 'apiVersion: score.dev/v1b1\nmetadata:\n  name: yaml-app\ncontainers:\n  web:\n    image: nginx\n',
    });

    const invalid = await call(400, {
      ...asJson,
      token: ADMIN,
      body: JSON.stringify({ apiVersion: 'score.dev/v2', metadata: { name: 'Bad_Name' } }),
    });
    expect(invalid.body.error.details.length).toBeGreaterThan(1);
    await call(400, { ...asJson, token: ADMIN, query: '?priority=high' });
    await call(401, asJson);
    await call(401, { ...asJson, token: 'not-a-token-123' });
    await call(403, { ...asJson, token: READER });
    await call(404, { ...asJson, token: ADMIN, query: '?golden_path=no-such-path' });
    await call(413, { ...asJson, token: ADMIN, body: ' '.repeat(70_000) + json });
    await call(415, { ...post, token: ADMIN, contentType: 'text/plain' });

    for (let i = 0; i < BURST; i++) {
      await call(404, { ...asJson, token: GREEDY, query: '?golden_path=no-such-path' });
    }
    const limited = await call(429, { ...asJson, token: GREEDY });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(documented('POST', '/api/specs', 429).schema).toBeDefined();
    expect(doc.paths['/api/specs'].post.responses['429'].headers['Retry-After']).toBeDefined();
  });

  it('POST /api/specs/batch: 202 for JSON and YAML, and the refusals', async () => {
    const post = { method: 'POST' as const, route: '/api/specs/batch', token: BATCHER };
    const asJson = { ...post, contentType: 'application/json' };
    const stored = await call(202, {
      ...asJson,
      body: JSON.stringify({
        specs: [
          { spec: spec('openapi-batch-a', 'true') },
          { spec: spec('openapi-batch-b', 'true'), priority: 3, idempotency_key: 'openapi-b-1' },
        ],
      }),
    });
    expect(stored.body.tasks).toHaveLength(2);
    const yaml =
      'apiVersion: score.dev/v1b1\nmetadata:\n  name: openapi-batch-y\ncontainers:\n  web:\n    image: nginx\n';
    await call(202, { ...post, contentType: 'application/yaml', body: `${yaml}---\n${yaml}` });
    const invalid = await call(400, {
      ...asJson,
      body: JSON.stringify({ specs: [{ spec: {} }, { spec: spec('ok', 'true'), priority: 'x' }] }),
    });
    expect(invalid.body.error.details.length).toBeGreaterThan(1);
    await call(401, { ...asJson, token: undefined, body: '{}' });
    await call(403, { ...asJson, token: READER, body: '{}' });
    await call(413, { ...asJson, body: ' '.repeat(70_000) });
    await call(415, { ...post, contentType: 'text/plain', body: 'x' });
    // A batch takes one enqueue per spec from the token's burst.
    const tooMany = Array.from({ length: BURST + 1 }, () => ({
      spec: spec('openapi-many', 'true'),
    }));
    const limited = await call(429, { ...asJson, body: JSON.stringify({ specs: tooMany }) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('GET /api/queue/stats and /api/queue/active-tasks, open or with a token', async () => {
    await finished(completed);
    const stats = await call(200, { route: '/api/queue/stats' });
    expect(stats.body.tasks_completed).toBeGreaterThanOrEqual(1);
    // The check is not vacuous: a wrong type, a missing field or an extra one is refused.
    const statsSchema = validatorFor(documented('GET', '/api/queue/stats', 200).schema);
    const { workers: _workers, ...missing } = stats.body;
    expect(statsSchema({ ...stats.body, workers: 'five' })).toBe(false);
    expect(statsSchema(missing)).toBe(false);
    expect(statsSchema({ ...stats.body, extra: 1 })).toBe(false);
    await call(200, { route: '/api/queue/stats', token: READER });
    await call(401, { route: '/api/queue/stats', token: 'not-a-token-123' });
    await call(200, { route: '/api/queue/active-tasks' });
    await call(401, { route: '/api/queue/active-tasks', token: 'not-a-token-123' });
  });

  it('GET /api/golden-paths: the shipped golden paths, open or with a token', async () => {
    const { body } = await call(200, { route: '/api/golden-paths' });
    expect(body.golden_paths.map((p: { name: string }) => p.name)).toContain('deploy-app');
    await call(200, { route: '/api/golden-paths', token: READER });
    await call(401, { route: '/api/golden-paths', token: 'not-a-token-123' });
  });

  it('GET /api/queue/tasks: pages and a bad query', async () => {
    const page = await call(200, { route: '/api/queue/tasks', query: '?limit=1' });
    expect(page.body.tasks).toHaveLength(1);
    expect(page.body.next_cursor).not.toBeNull();
    const next = await call(200, {
      route: '/api/queue/tasks',
      query: `?limit=1&status=completed&app=openapi-app&cursor=${page.body.next_cursor}`,
    });
    expect(Array.isArray(next.body.tasks)).toBe(true);
    await call(400, { route: '/api/queue/tasks', query: '?limit=0&status=done' });
    await call(401, { route: '/api/queue/tasks', token: 'not-a-token-123' });
  });

  it('GET /api/queue/tasks/{id} and its logs need a token', async () => {
    const url = `/api/queue/tasks/${completed}`;
    const detail = await call(200, { route: taskRoute, url, token: READER });
    expect(detail.body.steps.length).toBeGreaterThan(0);
    await call(401, { route: taskRoute, url });
    await call(404, { route: taskRoute, url: `/api/queue/tasks/${UNKNOWN_TASK}`, token: ADMIN });
    await call(400, { route: taskRoute, url: '/api/queue/tasks/not-a-task', token: ADMIN });

    const logsRoute = `${taskRoute}/logs`;
    const logs = await call(200, { route: logsRoute, url: `${url}/logs`, token: ADMIN });
    expect(logs.body.text).toContain('hello');
    await call(200, { route: logsRoute, url: `${url}/logs`, query: '?offset=3', token: ADMIN });
    await call(400, { route: logsRoute, url: `${url}/logs`, query: '?offset=-1', token: ADMIN });
    await call(401, { route: logsRoute, url: `${url}/logs` });
    await call(404, {
      route: logsRoute,
      url: `/api/queue/tasks/${UNKNOWN_TASK}/logs`,
      token: ADMIN,
    });
  });

  it('POST cancel and retry: 200, 409 and the refusals', async () => {
    const cancel = `${taskRoute}/cancel`;
    const retry = `${taskRoute}/retry`;
    const at = (id: string, action: string) => `/api/queue/tasks/${id}/${action}`;
    const post = { method: 'POST' as const, token: ADMIN };

    const conflict = await call(409, { ...post, route: cancel, url: at(completed, 'cancel') });
    expect(conflict.body.error.code).toBe('CONFLICT');
    await call(409, { ...post, route: retry, url: at(completed, 'retry') });
    await call(404, { ...post, route: cancel, url: at(UNKNOWN_TASK, 'cancel') });
    await call(404, { ...post, route: retry, url: at(UNKNOWN_TASK, 'retry') });
    await call(400, { ...post, route: cancel, url: at('nope', 'cancel') });
    await call(400, { ...post, route: retry, url: at('nope', 'retry') });
    await call(401, { method: 'POST', route: cancel, url: at(completed, 'cancel') });
    await call(401, { method: 'POST', route: retry, url: at(completed, 'retry') });
    await call(403, { ...post, token: READER, route: cancel, url: at(completed, 'cancel') });
    await call(403, { ...post, token: READER, route: retry, url: at(completed, 'retry') });

    const running = await enqueue('openapi-cancel', 'sleep 30');
    // A running task in the active list matches the schema too.
    await waitFor(
      async () => {
        const { body } = await call(200, { route: '/api/queue/active-tasks' });
        return body.tasks.some((t: any) => t.id === running && t.status === 'running');
      },
      { what: 'the task to run' },
    );
    const cancelled = await call(200, { ...post, route: cancel, url: at(running, 'cancel') });
    expect(cancelled.body.id).toBe(running);

    const failing = await enqueue('openapi-fail', 'echo broken >&2; exit 3');
    expect(await finished(failing)).toBe('failed');
    const detail = await call(200, {
      route: taskRoute,
      url: `/api/queue/tasks/${failing}`,
      token: ADMIN,
    });
    expect(detail.body.errors.length).toBe(1);
    const retried = await call(200, { ...post, route: retry, url: at(failing, 'retry') });
    expect(retried.body.status).toBe('pending');
    expect(await finished(failing)).toBe('failed');
  });

  it('webhooks: PUT 201 then 200, GET, DELETE, and the refusals', async () => {
    const route = '/api/webhooks/{name}';
    const url = '/api/webhooks/openapi-hook';
    const body = JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['task.failed'] });
    const put = { method: 'PUT' as const, route, url, contentType: 'application/json' };
    const created = await call(201, { ...put, token: ADMIN, body });
    expect(created.body.secret).toMatch(/^whsec_/);
    const replaced = await call(200, { ...put, token: ADMIN, body });
    expect(replaced.body.secret).toBeUndefined();
    await call(200, { route: '/api/webhooks', token: ADMIN });
    await call(200, { route, url, token: ADMIN });
    await call(400, { ...put, token: ADMIN, body: '{"url":"ftp://x","events":[]}' });
    await call(400, { ...put, url: '/api/webhooks/Not%20A%20Name', token: ADMIN, body });
    await call(401, { ...put, body });
    await call(403, { ...put, token: READER, body });
    await call(403, { route: '/api/webhooks', token: READER });
    await call(200, { method: 'DELETE', route, url, token: ADMIN });
    await call(404, { method: 'DELETE', route, url, token: ADMIN });
    await call(404, { route, url, token: ADMIN });
  });

  it('GET /api/queue/events: an SSE stream whose events match x-sse-events', async () => {
    const route = '/api/queue/events';
    const content = documented('GET', route, 200, 'text/event-stream');
    const eventSchemas = content['x-sse-events'] as Record<string, object>;

    // One finished task's stream: its current status, then the end.
    const oneTask = await fetch(`${node.url}${route}?task_id=${completed}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(oneTask.status).toBe(200);
    expect(oneTask.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseEvents(await oneTask.text());
    expect(events.map((e) => e.event)).toEqual(['task']);
    for (const { event, data } of events) expectMatches(eventSchemas[event]!, data, event);

    // A live task's stream: its steps and output as they happen, until it ends.
    // The step prints only once the stream is open (the server subscribes before it answers).
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-live-')), 'subscribed');
    const live = await enqueue(
      'openapi-live',
      `until [ -e '${marker}' ]; do sleep 0.05; done; echo live`,
    );
    const liveTask = await fetch(`${node.url}${route}?task_id=${live}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(liveTask.status).toBe(200);
    fs.writeFileSync(marker, '');
    const liveEvents = parseEvents(await liveTask.text());
    const types = liveEvents.map((e) => (e.data as { type: string }).type);
    expect(types).toEqual(expect.arrayContaining(['step.output', 'step.finished', 'task.status']));
    for (const { event, data } of liveEvents) expectMatches(eventSchemas[event]!, data, event);

    // The whole queue's stream: stats at once (and task events as they come).
    const controller = new AbortController();
    const all = await fetch(`${node.url}${route}`, { signal: controller.signal });
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = all.body!.getReader();
    let text = '';
    await waitFor(
      async () => {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
        return text.includes('event: stats') && text.endsWith('\n\n');
      },
      { what: 'a stats event' },
    );
    controller.abort();
    const queueEvents = parseEvents(text);
    expect(queueEvents.some((e) => e.event === 'stats')).toBe(true);
    for (const { event, data } of queueEvents) expectMatches(eventSchemas[event]!, data, event);
    exercised.add(`GET ${route}`);

    await call(400, { route, query: '?task_id=nope', token: ADMIN });
    await call(401, { route, query: `?task_id=${completed}` });
    await call(401, { route, token: 'not-a-token-123' });
    await call(404, { route, query: `?task_id=${UNKNOWN_TASK}`, token: ADMIN });
  });

  it('pause, resume and schedules: answers match, refusals too', async () => {
    const post = { method: 'POST' as const, token: ADMIN };
    const paused = await call(200, {
      ...post,
      route: '/api/queue/pause',
      body: JSON.stringify({ app_name: 'openapi-paused' }),
      contentType: 'application/json',
    });
    expect(paused.body.paused).toBe(true);
    await call(403, { ...post, token: READER, route: '/api/queue/pause' });
    await call(400, {
      ...post,
      route: '/api/queue/pause',
      body: '{"app_name": 1}',
      contentType: 'application/json',
    });
    const list = await call(200, { route: '/api/queue/paused' });
    expect(list.body.pauses).toHaveLength(1);
    await call(200, {
      ...post,
      route: '/api/queue/resume',
      body: JSON.stringify({ app_name: 'openapi-paused' }),
      contentType: 'application/json',
    });

    const one = '/api/schedules/{name}';
    const at = (suffix = '') => `/api/schedules/openapi-nightly${suffix}`;
    const body = JSON.stringify({ cron: '0 3 * * *', spec: spec('openapi-app', 'true') });
    const put = { method: 'PUT' as const, token: ADMIN, contentType: 'application/json' };
    await call(201, { ...put, route: one, url: at(), body });
    await call(200, { ...put, route: one, url: at(), body });
    const bad = await call(400, { ...put, route: one, url: at(), body: '{"cron": "x"}' });
    expect(bad.body.error.details.length).toBeGreaterThan(0);
    await call(200, { route: '/api/schedules' });
    const detail = await call(200, { route: one, url: at(), token: READER });
    expect(detail.body.next_runs).toHaveLength(5);
    await call(401, { route: one, url: at() });
    await call(200, { ...post, route: `${one}/pause`, url: at('/pause') });
    await call(200, { ...post, route: `${one}/resume`, url: at('/resume') });
    await call(200, { method: 'DELETE', token: ADMIN, route: one, url: at() });
    await call(404, { method: 'DELETE', token: ADMIN, route: one, url: at() });
    await call(404, { ...post, route: `${one}/pause`, url: at('/pause') });
    await call(404, { ...post, route: `${one}/resume`, url: at('/resume') });
  });

  it('GET /metrics: the Prometheus text', async () => {
    const response = await fetch(`${node.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expectMatches(
      documented('GET', '/metrics', 200, 'text/plain').schema,
      await response.text(),
      'metrics',
    );
    exercised.add('GET /metrics');
    await call(401, { route: '/metrics', token: 'not-a-token-123' });
  });

  it('every documented operation was called and succeeded at least once', () => {
    const documentedOps = Object.entries(doc.paths).flatMap(([route, item]) =>
      Object.keys(item as object).map((method) => `${method.toUpperCase()} ${route}`),
    );
    expect([...exercised].sort()).toEqual(documentedOps.sort());
  });
});

function parseEvents(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => line !== '' && !line.startsWith(':')))
    .filter((lines) => lines.length > 0)
    .map((lines) => ({
      event: lines.find((l) => l.startsWith('event: '))!.slice('event: '.length),
      data: JSON.parse(
        lines
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice('data: '.length))
          .join('\n'),
      ),
    }));
}
