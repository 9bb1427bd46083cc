// The REST routes of the demo guide (/api/...), over the same services as the tRPC procedures.
// Bodies are read as bytes and parsed here, so every failure gets the same JSON error.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { idempotencyKeySchema, prioritySchema } from '../../shared/api.js';
import { badRequest } from '../errors.js';
import type { QueueServices } from '../services/context.js';
import { enqueueSpec } from '../services/enqueueSpec.js';
import { checkHealth, getActiveTasks, getQueueStats } from '../services/queueReads.js';
import type { Authenticator } from './auth.js';
import { authorizeRead, authorizeWrite } from './authorize.js';
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

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(SPEC_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });

  app.get('/health', async (_request, reply) => {
    const health = await checkHealth(services);
    return reply.status(health.status === 'ok' ? 200 : 503).send(health);
  });

  app.get('/ready', async (_request, reply) => {
    const health = await checkHealth(services);
    const ready = health.status === 'ok' && options.isReady();
    return reply.status(ready ? 200 : 503).send({ ready, database: health.database });
  });

  app.post('/api/specs', async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = authorizeWrite(auth(request));
    const query = request.query as Record<string, string | string[] | undefined>;
    const contentType = request.headers['content-type']?.toLowerCase() ?? '';
    const format = JSON_TYPES.some((t) => contentType.startsWith(t)) ? 'json' : 'yaml';
    const spec = validateSpec(parseSpecText(decodeBody(request.body as Buffer), format));
    const result = await enqueueSpec(services, {
      spec,
      goldenPath: single(query.golden_path, 'golden_path'),
      idempotencyKey: parseOptional(request.headers['idempotency-key'], 'Idempotency-Key', (v) =>
        idempotencyKeySchema.safeParse(v),
      ),
      priority: parseOptional(query.priority, 'priority', (v) =>
        prioritySchema.safeParse(Number(v)),
      ),
      principal,
      source: 'api',
    });
    return reply.status(result.created ? 202 : 200).send(result.response);
  });

  app.get('/api/queue/stats', async (request) => {
    authorizeRead(auth(request), services.config);
    return getQueueStats(services);
  });

  app.get('/api/queue/active-tasks', async (request) => {
    authorizeRead(auth(request), services.config);
    return getActiveTasks(services);
  });
}

function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw badRequest(`Give ${name} once, not ${value.length} times.`);
  return value;
}

function parseOptional<T>(
  raw: string | string[] | undefined,
  name: string,
  parse: (
    value: string,
  ) => { success: true; data: T } | { success: false; error: { issues: { message: string }[] } },
): T | undefined {
  const value = single(raw, name);
  if (value === undefined) return undefined;
  const parsed = parse(value);
  if (parsed.success) return parsed.data;
  const message = parsed.error.issues[0]?.message ?? 'is invalid';
  throw badRequest(`Invalid ${name}: ${message}.`, [{ path: name, message }]);
}
