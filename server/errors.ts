// Errors are TRPCErrors everywhere; this module builds the ones that carry field details, and
// turns any error into the one JSON body the REST routes return.
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { ZodError } from 'zod';
import { describeZodError, type ErrorBody, type FieldProblem } from '../shared/errors.js';
import { isDatabaseUnavailable } from './db/errors.js';

/** The `cause` of a TRPCError whose problems are listed field by field. */
export class FieldProblems extends Error {
  override name = 'FieldProblems';
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  }
}

export function badRequest(message: string, problems?: FieldProblem[]): TRPCError {
  return new TRPCError({
    code: 'BAD_REQUEST',
    message,
    ...(problems ? { cause: new FieldProblems(problems) } : {}),
  });
}

export function databaseUnavailable(cause: unknown): TRPCError {
  return new TRPCError({
    code: 'SERVICE_UNAVAILABLE',
    message: 'The database is unavailable; nothing was stored. Try again shortly.',
    cause,
  });
}

/** Field details of an error, whether it came from our validation or from a tRPC input parser. */
export function problemsOf(error: TRPCError): FieldProblem[] | undefined {
  if (error.cause instanceof FieldProblems) return error.cause.problems;
  if (error.cause instanceof ZodError) return describeZodError(error.cause);
  return undefined;
}

/** Any error to a TRPCError the client may see: internals stay in the log. */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) {
    if (error.code === 'INTERNAL_SERVER_ERROR' && isDatabaseUnavailable(error.cause)) {
      return databaseUnavailable(error.cause);
    }
    return error;
  }
  if (isDatabaseUnavailable(error)) return databaseUnavailable(error);
  return new TRPCError({
    code: 'INTERNAL_SERVER_ERROR',
    message: 'Internal server error',
    cause: error,
  });
}

/** The `cause` of a TOO_MANY_REQUESTS error: when to try again. */
export class RetryAfter extends Error {
  override name = 'RetryAfter';
  constructor(readonly seconds: number) {
    super(`retry after ${seconds}s`);
  }
}

/** Headers an error's answer carries: `Retry-After` for rate limits. */
export function errorHeaders(error: TRPCError): Record<string, string> {
  return error.cause instanceof RetryAfter ? { 'retry-after': String(error.cause.seconds) } : {};
}

export function errorResponse(error: TRPCError): {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
} {
  const details = problemsOf(error);
  const message = error.code === 'INTERNAL_SERVER_ERROR' ? 'Internal server error' : error.message;
  return {
    status: getHTTPStatusCodeFromError(error),
    body: { error: { code: error.code, message, ...(details ? { details } : {}) } },
    headers: errorHeaders(error),
  };
}
