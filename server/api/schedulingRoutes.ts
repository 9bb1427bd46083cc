// REST routes of scheduling and control: pause and resume (cluster-wide or one application),
// what is paused, and stored schedules. Same services as the tRPC procedures.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  pauseInputSchema,
  scheduleInputSchema,
  scheduleNameSchema,
  type PauseInput,
} from '../../shared/scheduling.js';
import { badRequest } from '../errors.js';
import type { QueueServices } from '../services/context.js';
import { listPauses, pauseQueue, resumeQueue } from '../services/queueControl.js';
import {
  getSchedule,
  listSchedules,
  pauseSchedule,
  putSchedule,
  removeSchedule,
} from '../services/schedules.js';
import type { AuthResult } from './auth.js';
import { authorizeAdmin, authorizeRead, authorizeSensitiveRead } from './authorize.js';
import { parse } from './queryParams.js';
import { decodeBody, JSON_TYPES, parseSpecText } from './specBody.js';

export interface SchedulingRoutesOptions {
  services: QueueServices;
  auth: (request: FastifyRequest) => AuthResult;
}

export function schedulingRoutes(app: FastifyInstance, options: SchedulingRoutesOptions): void {
  const { services, auth } = options;
  const name = (request: FastifyRequest) =>
    parse(scheduleNameSchema, (request.params as { name: string }).name, 'schedule name');

  // Admin only; an empty body (or none) pauses the whole cluster.
  app.post('/api/queue/pause', async (request) => {
    const principal = authorizeAdmin(auth(request));
    return pauseQueue(services, pauseBody(request), principal);
  });

  app.post('/api/queue/resume', async (request) => {
    const principal = authorizeAdmin(auth(request));
    return resumeQueue(services, pauseBody(request), principal);
  });

  app.get('/api/queue/paused', async (request) => {
    authorizeRead(auth(request), services.config);
    return listPauses(services);
  });

  app.get('/api/schedules', async (request) => {
    authorizeRead(auth(request), services.config);
    return listSchedules(services);
  });

  // The detail holds the spec, which may carry secrets: a token is needed.
  app.get('/api/schedules/:name', async (request) => {
    authorizeSensitiveRead(auth(request));
    return getSchedule(services, name(request));
  });

  app.put('/api/schedules/:name', async (request, reply) => {
    const principal = authorizeAdmin(auth(request));
    const scheduleName = name(request);
    const contentType = request.headers['content-type']?.toLowerCase() ?? '';
    const format = JSON_TYPES.some((t) => contentType.startsWith(t)) ? 'json' : 'yaml';
    const body = parseSpecText(decodeBody(request.body), format) as Record<string, unknown>;
    // The spec may come as a YAML (or JSON) text inside the body.
    if (typeof body.spec === 'string') body.spec = parseSpecText(body.spec, 'yaml');
    const input = parse(scheduleInputSchema, body, 'schedule');
    const result = await putSchedule(services, scheduleName, input, principal);
    return reply.status(result.created ? 201 : 200).send(result.schedule);
  });

  app.delete('/api/schedules/:name', async (request) =>
    removeSchedule(services, name(request), authorizeAdmin(auth(request))),
  );

  app.post('/api/schedules/:name/pause', async (request) =>
    pauseSchedule(services, name(request), true, authorizeAdmin(auth(request))),
  );

  app.post('/api/schedules/:name/resume', async (request) =>
    pauseSchedule(services, name(request), false, authorizeAdmin(auth(request))),
  );
}

/** `{ "app_name": "..." }`, or nothing. */
function pauseBody(request: FastifyRequest): PauseInput {
  if (!Buffer.isBuffer(request.body) || request.body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(decodeBody(request.body));
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw badRequest(`The request body is not valid JSON: ${error.message}`);
    }
    throw error;
  }
  return parse(pauseInputSchema, value, 'body');
}
