// GET /metrics: the node's Prometheus metrics in the text exposition format. Open like the other
// reads (REQUIRE_AUTH_FOR_READS puts it behind a token too).
import type { FastifyInstance } from 'fastify';
import type { QueueServices } from '../services/context.js';
import type { Authenticator } from './auth.js';
import { authorizeRead } from './authorize.js';

export function metricsRoute(
  app: FastifyInstance,
  options: { services: QueueServices; authenticator: Authenticator },
): void {
  const { services, authenticator } = options;
  app.get('/metrics', async (request, reply) => {
    authorizeRead(authenticator.authenticate(request.headers.authorization), services.config);
    const registry = services.metrics.registry;
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
}
