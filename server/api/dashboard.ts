// The web dashboard: the built page (dashboard/dist, `npm run build:dashboard`) at `/`, with the
// security headers a page needs. Registered as its own scope, so the API routes keep theirs.
import fs from 'node:fs';
import path from 'node:path';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { TRPCError } from '@trpc/server';
import type { FastifyInstance } from 'fastify';
import { errorResponse } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';

export const DASHBOARD_DIST = path.join(PROJECT_ROOT, 'dashboard', 'dist');

export interface DashboardOptions {
  /** The built dashboard. @default DASHBOARD_DIST */
  root?: string;
}

const self = ["'self'"];

/**
 * The security headers of the server's pages: a Content-Security-Policy allowing only the
 * node's own scripts, styles and connections. `imgSrc` widens where images may come from.
 */
export function pageSecurityHeaders(imgSrc: string[] = self): FastifyHelmetOptions {
  return {
    // Explicit, without helmet's defaults: those add `upgrade-insecure-requests`, which breaks the
    // page when a node is reached over plain HTTP on anything but localhost.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: self,
        scriptSrc: self,
        styleSrc: self,
        imgSrc,
        connectSrc: self,
        fontSrc: self,
        objectSrc: ["'none'"],
        baseUri: self,
        formAction: self,
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // HSTS is for whoever terminates TLS in front of the node to decide.
    strictTransportSecurity: false,
  };
}

export async function dashboard(
  app: FastifyInstance,
  options: DashboardOptions = {},
): Promise<void> {
  const root = options.root ?? DASHBOARD_DIST;
  await app.register(helmet, pageSecurityHeaders());

  // Checked once at start-up: a page built later is served after a restart.
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    app.get('/', (_request, reply) => {
      const { status, body } = errorResponse(
        new TRPCError({
          code: 'SERVICE_UNAVAILABLE',
          message:
            'The dashboard has not been built: run `npm run build`, then restart the server.',
        }),
      );
      return reply.status(status).send(body);
    });
    return;
  }

  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: 'index.html',
    cacheControl: false,
    setHeaders: (reply, filePath) => {
      // Vite puts a content hash in every asset's name; index.html must always be asked for anew.
      const hashed = filePath.startsWith(path.join(root, 'assets') + path.sep);
      void reply.header(
        'cache-control',
        hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
