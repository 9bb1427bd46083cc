// The one initTRPC of the server: context, error shape, and the procedure kinds (reads, writes).
import { initTRPC } from '@trpc/server';
import type { TaskSource } from '../../shared/api.js';
import { summarizeProblems } from '../../shared/errors.js';
import { problemsOf } from '../errors.js';
import type { QueueServices } from '../services/context.js';
import type { AuthResult } from './auth.js';
import {
  authorizeRead,
  authorizeSensitiveRead,
  authorizeWrite,
  authorizeAdmin,
} from './authorize.js';

export interface Context {
  services: QueueServices;
  auth: AuthResult;
  /** `api` for REST calls, `trpc` for procedure calls: recorded in each task's metadata. */
  source: TaskSource;
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces to clients, whatever NODE_ENV says.
  isDev: false,
  // Subscriptions run over server-sent events; pings keep proxies from closing quiet streams.
  sse: {
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 25_000 },
  },
  errorFormatter({ shape, error }) {
    const details = problemsOf(error);
    return {
      ...shape,
      message: details ? `Invalid input: ${summarizeProblems(details)}` : shape.message,
      data: { ...shape.data, ...(details ? { details } : {}) },
    };
  },
});

export const router = t.router;
export const middleware = t.middleware;
export const createCallerFactory = t.createCallerFactory;

/** Reads: open unless REQUIRE_AUTH_FOR_READS; a token that is sent must be valid. */
export const readProcedure = t.procedure.use(({ ctx, next }) => {
  authorizeRead(ctx.auth, ctx.services.config);
  return next();
});

/** Reads that can expose secrets (task output): always need a token. */
export const authedReadProcedure = t.procedure.use(({ ctx, next }) =>
  next({ ctx: { principal: authorizeSensitiveRead(ctx.auth) } }),
);

/** Anything that changes the queue: an admin or developer token (the services check the rest). */
export const writeProcedure = t.procedure.use(({ ctx, next }) =>
  next({ ctx: { principal: authorizeWrite(ctx.auth) } }),
);

/** Cluster settings (webhooks): an admin token. */
export const adminProcedure = t.procedure.use(({ ctx, next }) =>
  next({ ctx: { principal: authorizeAdmin(ctx.auth) } }),
);
