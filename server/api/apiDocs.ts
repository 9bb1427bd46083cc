// The API reference at /docs: Swagger UI (@fastify/swagger-ui) rendering the OpenAPI document,
// its files served by this node (no CDN: it works offline). Its page loads only scripts and
// styles of its own, so it runs under the dashboard's Content-Security-Policy; the one addition
// is `data:` images, which Swagger UI's stylesheet uses for its icons. Registered as its own
// scope, so the API routes keep their headers.
import fastifySwagger, { type StaticDocumentSpec } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { pageSecurityHeaders } from './dashboard.js';
import { openApiJson } from './openapi.js';

export const DOCS_PATH = '/docs';

export async function apiDocs(app: FastifyInstance): Promise<void> {
  await app.register(helmet, pageSecurityHeaders(["'self'", 'data:']));
  await app.register(fastifySwagger, {
    mode: 'static',
    // The document is 3.1; the plugin's types name 2.0 and 3.0 only, its code takes any.
    specification: { document: JSON.parse(openApiJson()) as StaticDocumentSpec['document'] },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PATH,
    // BaseLayout: without the top bar, whose logo and inline style the policy would refuse.
    uiConfig: {
      deepLinking: true,
      tryItOutEnabled: false,
      validatorUrl: null,
      layout: 'BaseLayout',
    },
    theme: { title: 'innominatus queue API' },
  });
}
