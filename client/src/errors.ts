// Typed errors of the SDK: every failure is a QueueClientError with a code a program can switch
// on: a tRPC error code from the server, or NETWORK_ERROR / TIMEOUT when it could not be reached.
import { TRPCClientError } from '@trpc/client';
import type { FieldProblem } from '../../shared/errors.js';

export type QueueErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | (string & {});

export class QueueClientError extends Error {
  override name = 'QueueClientError';
  constructor(
    message: string,
    readonly code: QueueErrorCode,
    /** HTTP status, when the server answered. */
    readonly httpStatus: number | undefined,
    /** Each failing field of an invalid input, when the server listed them. */
    readonly details: FieldProblem[] | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True when the call never got an answer: the server was unreachable or too slow. */
  get isNetworkError(): boolean {
    return this.code === 'NETWORK_ERROR' || this.code === 'TIMEOUT';
  }
}

interface ErrorData {
  code?: string;
  httpStatus?: number;
  details?: FieldProblem[];
}

export function toQueueClientError(error: unknown, url: string): QueueClientError {
  if (error instanceof QueueClientError) return error;
  if (error instanceof TRPCClientError) {
    const data = (error.data ?? undefined) as ErrorData | undefined;
    if (data?.code) {
      return new QueueClientError(error.message, data.code, data.httpStatus, data.details, {
        cause: error,
      });
    }
    return fromCause(error.cause ?? error, url);
  }
  return fromCause(error, url);
}

/** What fetch, an abort signal and undici's timeouts call a call that took too long. */
const TIMEOUT_ERRORS = new Set([
  'TimeoutError',
  'AbortError',
  'HeadersTimeoutError',
  'BodyTimeoutError',
  'ConnectTimeoutError',
]);

function fromCause(cause: unknown, url: string): QueueClientError {
  const name = (cause as { name?: string } | undefined)?.name;
  if (name !== undefined && TIMEOUT_ERRORS.has(name)) {
    return new QueueClientError(
      `The queue server at ${url} did not answer in time.`,
      'TIMEOUT',
      undefined,
      undefined,
      {
        cause,
      },
    );
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new QueueClientError(
    `Cannot reach the queue server at ${url}: ${describeNetworkError(cause) ?? message}`,
    'NETWORK_ERROR',
    undefined,
    undefined,
    { cause },
  );
}

function describeNetworkError(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ECONNREFUSED') return 'connection refused (is it running?)';
    if (code === 'ENOTFOUND') return 'unknown host';
    if (code === 'ECONNRESET') return 'connection reset';
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
