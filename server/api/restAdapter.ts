// The REST routes of the demo guide (/api/...) and the task routes beside them, over the same
// services as the tRPC procedures. Bodies are read as bytes and parsed here, so every failure
// gets the same JSON error.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  idempotencyKeySchema,
  prioritySchema,
  type Liveness,
  type Readiness,
} from '../../shared/api.js';
import { goldenPathNameSchema } from '../../shared/spec.js';
import { delaySecondsSchema, retryFromSchema, runAtSchema } from '../../shared/scheduling.js';
import { taskIdSchema, taskListInputSchema } from '../../shared/tasks.js';
import { badRequest } from '../errors.js';
import type { QueueServices } from '../services/context.js';
import { webhookInputSchema, webhookNameSchema } from '../../shared/webhooks.js';
import { enqueueSpec } from '../services/enqueueSpec.js';
import { deleteWebhook, getWebhook, listWebhooks, putWebhook } from '../services/webhooks.js';
import { listGoldenPaths } from '../services/goldenPathList.js';
import { enqueueSpecs } from '../services/enqueueSpecs.js';
import { streamAllTaskEvents, streamStats, streamTaskEvents } from '../services/liveEvents.js';
import { checkHealth, getActiveTasks, getQueueStats } from '../services/queueReads.js';
import { resolveRunAt } from '../services/runLater.js';
import { cancelTask, getTask, getTaskLogs, listTasks, retryTask } from '../services/taskActions.js';
import type { Authenticator } from './auth.js';
import {
  authorizeAdmin,
  authorizeRead,
  authorizeSensitiveRead,
  authorizeWrite,
} from './authorize.js';
import { parseJsonBatch, parseYamlBatch } from './batchBody.js';
import { openApiJson } from './openapi.js';
import { parse, single, wholeNumber, type Query } from './queryParams.js';
import { schedulingRoutes } from './schedulingRoutes.js';
import { sendEventStream } from './sseStream.js';
import { decodeBody, JSON_TYPES, parseSpecText, SPEC_TYPES, validateSpec } from './specBody.js';

export interface RestAdapterOptions {
  services: QueueServices;
  authenticator: Authenticator;
  /** False while the node starts or drains: /ready answers 503. */
  isReady: () => boolean;
}

export function restAdapter(app: FastifyInstance, options: RestAdapterOptions): void {
  const { services, authenticator } = options;
  const auth = (request: FastifyRequest) =>
    authenticator.authenticate(request.headers.authorization);
  const taskId = (request: FastifyRequest) =>
    parse(taskIdSchema, (request.params as { id: string }).id, 'task id');

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(SPEC_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });

  // Liveness for orchestrators: a database outage, which the node rides out, must not restart it.
  app.get('/livez', (_request, reply) => reply.send({ status: 'ok' } satisfies Liveness));

  app.get('/health', async (_request, reply) => {
    const health = await checkHealth(services);
    return reply.status(health.status === 'ok' ? 200 : 503).send(health);
  });

  app.get('/ready', async (_request, reply) => {
    const health = await checkHealth(services);
    const ready = health.status === 'ok' && options.isReady();
    const body: Readiness = { ready, database: health.database };
    return reply.status(ready ? 200 : 503).send(body);
  });

  app.get('/api/openapi.json', (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(openApiJson()),
  );

  app.post('/api/specs', async (request, reply) => {
    const principal = authorizeWrite(auth(request));
    const query = request.query as Query;
    const contentType = request.headers['content-type']?.toLowerCase() ?? '';
    const format = JSON_TYPES.some((t) => contentType.startsWith(t)) ? 'json' : 'yaml';
    const spec = validateSpec(parseSpecText(decodeBody(request.body), format));
    const priority = single(query.priority, 'priority');
    const delay = single(query.delay, 'delay');
    const runAtText = single(query.run_at, 'run_at');
    const runAt = resolveRunAt({
      runAt: runAtText === undefined ? undefined : parse(runAtSchema, runAtText, 'run_at'),
      delaySeconds: delay === undefined ? undefined : parse(delayParam, delay, 'delay'),
      names: { runAt: 'run_at', delay: 'delay' },
    });
    const idempotencyKey = single(request.headers['idempotency-key'], 'Idempotency-Key');
    const result = await enqueueSpec(services, {
      spec,
      goldenPath: single(query.golden_path, 'golden_path'),
      idempotencyKey:
        idempotencyKey === undefined
          ? undefined
          : parse(idempotencyKeySchema, idempotencyKey, 'Idempotency-Key'),
      priority:
        priority === undefined
          ? undefined
          : parse(prioritySchema, wholeNumber(priority), 'priority'),
      runAt,
      principal,
      source: 'api',
    });
    return reply.status(result.created ? 202 : 200).send(result.response);
  });

  app.get('/api/golden-paths', (request) => {
    authorizeRead(auth(request), services.config);
    return listGoldenPaths(services);
  });

  // Up to MAX_BATCH_SPECS specs in one transaction: JSON `{ "specs": [...] }`, or multi-document
  // YAML whose specs share the query's golden_path and priority.
  app.post('/api/specs/batch', async (request, reply) => {
    const principal = authorizeWrite(auth(request));
    const query = request.query as Query;
    const contentType = request.headers['content-type']?.toLowerCase() ?? '';
    if (request.headers['idempotency-key'] !== undefined) {
      throw badRequest(
        'A batch takes no Idempotency-Key header: give each spec its idempotency_key in a JSON body.',
        [{ path: 'Idempotency-Key', message: 'not taken by a batch' }],
      );
    }
    const text = decodeBody(request.body);
    const { items, problems } = JSON_TYPES.some((t) => contentType.startsWith(t))
      ? parseJsonBatch(text)
      : parseYamlBatch(text);
    const goldenPath = single(query.golden_path, 'golden_path');
    const priority = single(query.priority, 'priority');
    const response = await enqueueSpecs(services, {
      items,
      problems,
      goldenPath:
        goldenPath === undefined
          ? undefined
          : parse(goldenPathNameSchema, goldenPath, 'golden_path'),
      priority:
        priority === undefined
          ? undefined
          : parse(prioritySchema, wholeNumber(priority), 'priority'),
      principal,
      source: 'api',
    });
    return reply.status(202).send(response);
  });

  app.get('/api/queue/stats', async (request) => {
    authorizeRead(auth(request), services.config);
    return getQueueStats(services);
  });

  app.get('/api/queue/active-tasks', async (request) => {
    authorizeRead(auth(request), services.config);
    return getActiveTasks(services);
  });

  app.get('/api/queue/tasks', async (request) => {
    authorizeRead(auth(request), services.config);
    const query = request.query as Query;
    const limit = single(query.limit, 'limit');
    const input = parse(
      taskListInputSchema,
      {
        status: single(query.status, 'status'),
        app: single(query.app, 'app'),
        limit: limit === undefined ? undefined : wholeNumber(limit),
        cursor: single(query.cursor, 'cursor'),
      },
      'query',
    );
    return listTasks(services, input);
  });

  // Task details and logs can hold secrets a step printed: a token is always needed.
  app.get('/api/queue/tasks/:id', async (request) => {
    authorizeSensitiveRead(auth(request));
    return getTask(services, taskId(request));
  });

  app.get('/api/queue/tasks/:id/logs', async (request) => {
    authorizeSensitiveRead(auth(request));
    const offset = single((request.query as Query).offset, 'offset');
    return getTaskLogs(
      services,
      taskId(request),
      offset === undefined ? 0 : parse(taskListOffset, wholeNumber(offset), 'offset'),
    );
  });

  app.post('/api/queue/tasks/:id/cancel', async (request) =>
    cancelTask(services, taskId(request), authorizeWrite(auth(request))),
  );

  // ?from=failed: from the first step that failed, in the working directory it left.
  app.post('/api/queue/tasks/:id/retry', async (request) => {
    const from = single((request.query as Query).from, 'from');
    return retryTask(
      services,
      taskId(request),
      authorizeWrite(auth(request)),
      from === undefined ? undefined : parse(retryFromSchema, from, 'from'),
    );
  });

  schedulingRoutes(app, { services, auth });

  const webhookName = (request: FastifyRequest) =>
    parse(webhookNameSchema, (request.params as { name: string }).name, 'webhook name');

  app.get('/api/webhooks', async (request) => {
    authorizeAdmin(auth(request));
    return listWebhooks(services);
  });

  app.get('/api/webhooks/:name', async (request) => {
    authorizeAdmin(auth(request));
    return getWebhook(services, webhookName(request));
  });

  app.put('/api/webhooks/:name', async (request, reply) => {
    const principal = authorizeAdmin(auth(request));
    const contentType = request.headers['content-type']?.toLowerCase() ?? '';
    if (!JSON_TYPES.some((t) => contentType.startsWith(t))) {
      throw badRequest('Send the webhook as JSON (Content-Type: application/json).');
    }
    const input = parse(webhookInputSchema, parseJsonBody(decodeBody(request.body)), 'webhook');
    const result = await putWebhook(services, webhookName(request), input, principal);
    return reply.status(result.created ? 201 : 200).send(result);
  });

  app.delete('/api/webhooks/:name', async (request) => {
    authorizeAdmin(auth(request));
    return deleteWebhook(services, webhookName(request));
  });

  // `event: stats` and `event: task` (status changes, step starts and ends) for the whole queue;
  // with ?task_id= only that task's events, with its output, until it ends.
  app.get('/api/queue/events', async (request, reply) => {
    const onlyTask = single((request.query as Query).task_id, 'task_id');
    if (onlyTask !== undefined) {
      authorizeSensitiveRead(auth(request));
      const id = parse(taskIdSchema, onlyTask, 'task_id');
      await getTask(services, id); // 404 before the stream opens
      return sendEventStream(request, reply, [
        { event: 'task', open: (signal) => streamTaskEvents(services, id, signal) },
      ]);
    }
    const result = auth(request);
    authorizeRead(result, services.config);
    return sendEventStream(request, reply, [
      { event: 'stats', open: (signal) => streamStats(services, signal) },
      {
        event: 'task',
        open: (signal) => streamAllTaskEvents(services, { withOutput: false }, signal),
      },
    ]);
  });
}

function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`The body is not valid JSON: ${(error as Error).message}`);
  }
}

const taskListOffset = z.int('must be a whole number').min(0, 'must not be negative');
/** `?delay=` in seconds, decimals allowed. */
const delayParam = z
  .string()
  .regex(/^\d{1,12}(\.\d{1,6})?$/, 'must be a number of seconds')
  .transform(Number)
  .pipe(delaySecondsSchema);
