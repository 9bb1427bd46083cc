// The HTTP server: Fastify with the REST routes, tRPC at /trpc, request ids, and one JSON error
// shape for every failure, including Fastify's own (body too large, unsupported media type).
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import cors from '@fastify/cors';
import { TRPCError } from '@trpc/server';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyReply,
  type FastifyInstance,
} from 'fastify';
import type { Logger } from 'pino';
import { errorResponse, toTRPCError } from '../errors.js';
import type { QueueServices } from '../services/context.js';
import type { Authenticator } from './auth.js';
import { apiDocs } from './apiDocs.js';
import { dashboard } from './dashboard.js';
import { metricsRoute } from './metricsRoute.js';
import { restAdapter } from './restAdapter.js';
import { trpcRoute } from './trpcRoute.js';
import { SPEC_TYPES } from './specBody.js';

export interface HttpServerOptions {
  services: QueueServices;
  authenticator: Authenticator;
  logger: Logger;
  isReady: () => boolean;
  /** True once the node has begun to shut down: new requests get a 503. */
  isClosing: () => boolean;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { services, authenticator } = options;
  const loggerInstance: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: services.config.bodyLimit,
    // One line per request, written by the onResponse hook below at a level that fits its status.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    // Keep a caller's request id when it is sane, so logs can be joined across services.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Our own 503 while closing (below), in the one error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Long enough for any task id, so a bad one gets our 400 rather than Fastify's 414.
    routerOptions: { maxParamLength: 256 },
    // A URL that cannot be decoded, or a parameter longer still: the one error shape too.
    frameworkErrors: (error, request, reply) => {
      const { status, body } = errorResponse(
        new TRPCError({
          code: 'BAD_REQUEST',
          message:
            error.code === 'FST_ERR_MAX_PARAM_LENGTH'
              ? 'A path parameter is too long.'
              : 'The URL cannot be decoded (a malformed %-escape).',
        }),
      );
      // No route, so no onResponse hook: log the refusal here.
      request.log.info(
        { reqId: request.id, method: request.method, url: request.url, status, code: error.code },
        'request refused',
      );
      void (reply as unknown as FastifyReply).status(status).send(body);
    },
    // Requests Node cannot even parse (a 64 KB header, a NUL in a header). Fastify's default
    // logs the raw packet at trace level — Authorization header included. Log the code only.
    clientErrorHandler: answerClientError(options.logger),
  });

  if (services.config.corsOrigins.length > 0) {
    // Off unless CORS_ORIGINS names the browser origins allowed to call the API.
    await app.register(cors, {
      origin: services.config.corsOrigins,
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      allowedHeaders: [
        'authorization',
        'content-type',
        'idempotency-key',
        'x-request-id',
        'trpc-accept',
      ],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    });
  }
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    if (options.isClosing()) {
      const { status, body } = errorResponse(
        new TRPCError({
          code: 'SERVICE_UNAVAILABLE',
          message: 'This node is shutting down; try another.',
        }),
      );
      return reply.status(status).header('connection', 'close').send(body);
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const fields = {
      reqId: request.id,
      method: request.method,
      url: request.url,
      status,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    // The route pattern, not the URL, keeps the label set bounded.
    services.metrics.httpRequest(
      request.method,
      request.routeOptions.url ?? '(unmatched)',
      status,
      reply.elapsedTime,
    );
    if (status >= 500) request.log.error(fields, 'request failed');
    else if (status >= 400) request.log.info(fields, 'request refused');
    else request.log.debug(fields, 'request completed');
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const trpcError = fromFastifyError(error) ?? toTRPCError(error);
    const { status, body, headers } = errorResponse(trpcError);
    if (status >= 500) request.log.error({ err: error, reqId: request.id }, 'request error');
    return reply.status(status).headers(headers).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `No route ${request.method} ${request.url.split('?')[0]}`,
      },
    }),
  );

  await app.register((scope, _opts, done) => {
    restAdapter(scope, { services, authenticator, isReady: options.isReady });
    done();
  });
  await app.register((scope, _opts, done) => {
    metricsRoute(scope, { services, authenticator });
    done();
  });
  await app.register((scope, _opts, done) => {
    trpcRoute(scope, {
      createContext: (req) => ({
        services,
        auth: authenticator.authenticate(req.headers.authorization),
        source: 'trpc',
      }),
      logger: options.logger,
    });
    done();
  });
  await app.register(dashboard);
  await app.register(apiDocs);
  return app;
}

function answerClientError(logger: Logger) {
  return (error: NodeJS.ErrnoException, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = tooLarge ? 431 : timeout ? 408 : 400;
    logger.debug({ code: error.code, status }, 'unparsable request refused');
    const body = JSON.stringify({
      error: {
        code: tooLarge ? 'REQUEST_HEADER_FIELDS_TOO_LARGE' : timeout ? 'TIMEOUT' : 'BAD_REQUEST',
        message: tooLarge
          ? 'The request headers are larger than the server accepts.'
          : timeout
            ? 'The request took too long to arrive.'
            : 'The request is not valid HTTP.',
      },
    });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

/** Fastify's own errors, as TRPCErrors with a message a caller can act on. */
function fromFastifyError(error: FastifyError): TRPCError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TRPCError({
        code: 'PAYLOAD_TOO_LARGE',
        message: 'The request body is larger than the server accepts.',
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new TRPCError({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: `Unsupported content type; send the spec as one of: ${SPEC_TYPES.join(', ')}.`,
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new TRPCError({
        code: 'BAD_REQUEST',
        message: 'The request body is empty: send a Score spec.',
      });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new TRPCError({
        code: 'BAD_REQUEST',
        message: 'The Content-Length header does not match the body.',
      });
    default: {
      const status = error.statusCode ?? 0;
      if (status < 400 || status >= 500) return undefined;
      // Keep the status a plugin chose (a refused static path is 403, a missing file 404).
      return new TRPCError({
        code: CLIENT_ERROR_CODES[status] ?? 'BAD_REQUEST',
        message: error.message,
      });
    }
  }
}

// HTTP status → tRPC code: the inverse of getHTTPStatusCodeFromError, which tRPC keeps internal.
const CLIENT_ERROR_CODES: Partial<Record<number, TRPCError['code']>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  408: 'TIMEOUT',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
};
