// tRPC over HTTP at /trpc/:path. A plain call (one procedure, no batch, no streaming: what the SDK's
// httpLink sends) is answered here directly; anything else goes to tRPC's own Fastify handler.
// That handler turns every request into a WHATWG Request and its answer into a Response, with an
// AbortSignal for the call: about 0.5 ms of CPU per call, more than the enqueue itself
// (BENCHMARKS.md, issue 13). The direct path asks tRPC for the same pieces it uses itself (the
// procedure at the path, the error shape, the status, the transformer), so the answers do not
// differ; a body or input it cannot read as JSON goes to tRPC too, for tRPC's own error. Some of
// those pieces are exported from tRPC's unstable core: the lockfile pins tRPC, and
// tests/integration/api.trpcDirectPath.test.ts compares every kind of answer with tRPC's handler.
import type { TRPCError } from '@trpc/server';
import { fastifyRequestHandler, type FastifyHandlerOptions } from '@trpc/server/adapters/fastify';
import { getHTTPStatusCode } from '@trpc/server/http';
import {
  getErrorShape,
  getProcedureAtPath,
  getTRPCErrorFromUnknown,
  transformTRPCResponse,
  type AnyProcedure,
} from '@trpc/server/unstable-core-do-not-import';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorHeaders } from '../errors.js';
import { appRouter, type AppRouter } from './router.js';
import type { Context } from './trpc.js';

export interface TrpcRouteOptions {
  createContext(req: FastifyRequest): Context;
  logger: Logger;
}

const PROCEDURE_PATH = /^[A-Za-z0-9_.]{1,128}$/;
const NOT_JSON = Symbol('not JSON');

export interface PlainCall {
  procedure: AnyProcedure;
  /** The parsed input, `undefined` when none was sent. */
  input: unknown;
}

/** Registers `ALL /trpc/:path`; give it a scope of its own (it reads JSON bodies as text). */
export function trpcRoute(app: FastifyInstance, options: TrpcRouteOptions): void {
  const handlerOptions = {
    router: appRouter,
    createContext: ({ req }) => options.createContext(req),
    responseMeta: ({ errors }) => ({ headers: headersOf(errors) }),
    onError: ({ error, path }) => logFailure(options.logger, error, path),
  } satisfies FastifyHandlerOptions<AppRouter, FastifyRequest, FastifyReply>;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, next) => {
    next(null, body);
  });
  app.removeContentTypeParser('multipart/form-data');
  app.addContentTypeParser('multipart/form-data', {}, (_req, body, next) => {
    next(null, body);
  });
  app.all<{ Params: { path: string } }>('/trpc/:path', async (req, reply) => {
    const path = req.params.path;
    const call = await plainCall(req, path);
    if (call) return answer(options, req, reply, path, call);
    await fastifyRequestHandler({ ...handlerOptions, req, res: reply, path });
  });
}

/** Retry-After of a refusal that says when to try again. */
function headersOf(errors: TRPCError[]): Record<string, string> {
  return Object.assign({}, ...errors.map((e) => errorHeaders(e))) as Record<string, string>;
}

function logFailure(logger: Logger, error: TRPCError, path: string | undefined): void {
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    logger.error({ err: error.cause ?? error, path }, 'tRPC procedure failed');
  }
}

/** The procedure and input of a call the direct path can answer, or undefined. */
export async function plainCall(req: FastifyRequest, path: string): Promise<PlainCall | undefined> {
  if (!PROCEDURE_PATH.test(path) || req.headers['trpc-accept'] !== undefined) return undefined;
  const query = req.query as Record<string, unknown>;
  const contentType = req.headers['content-type'];
  let text: unknown;
  if (req.method === 'POST') {
    if (!contentType?.startsWith('application/json')) return undefined;
    if (Object.keys(query).length > 0) return undefined;
    text = req.body ?? '';
  } else if (req.method === 'GET') {
    if (contentType !== undefined && !contentType.startsWith('application/json')) return undefined;
    if (Object.keys(query).some((key) => key !== 'input')) return undefined;
    text = query.input ?? '';
  } else {
    return undefined;
  }
  if (typeof text !== 'string') return undefined;
  const procedure = await getProcedureAtPath(appRouter, path);
  if (procedure?._def.type !== (req.method === 'POST' ? 'mutation' : 'query')) return undefined;
  const parsed = parseJson(text);
  if (parsed === NOT_JSON) return undefined;
  const input: unknown =
    parsed === undefined ? undefined : appRouter._def._config.transformer.input.deserialize(parsed);
  return { procedure, input };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

/** Runs the call as tRPC's resolveResponse would, and sends its JSON answer. */
async function answer(
  options: TrpcRouteOptions,
  req: FastifyRequest,
  reply: FastifyReply,
  path: string,
  call: PlainCall,
): Promise<FastifyReply> {
  const config = appRouter._def._config;
  const type = call.procedure._def.type;
  let ctx: Context | undefined;
  let body: Parameters<typeof getHTTPStatusCode>[0];
  let errors: TRPCError[] = [];
  try {
    ctx = options.createContext(req);
    const data: unknown = await call.procedure({
      path,
      getRawInput: () => Promise.resolve(call.input),
      ctx,
      type,
      signal: undefined,
      batchIndex: 0,
    });
    body = { result: { data } };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    errors = [error];
    logFailure(options.logger, error, path);
    body = { error: getErrorShape({ config, ctx, error, input: call.input, path, type }) };
  }
  return (
    reply
      .status(getHTTPStatusCode(body, errors))
      .headers({ vary: 'trpc-accept, accept', ...headersOf(errors) })
      .header('content-type', 'application/json')
      // A Buffer, so that Fastify adds no charset: the header reads as tRPC's own.
      .send(Buffer.from(JSON.stringify(transformTRPCResponse(config, body))))
  );
}
