// Turns any failure into what the person at the terminal needs: what went wrong, how to fix it
// (which flag, variable or file), and the exit code. `--json` gets the same as one JSON object.
import type { FieldProblem } from '../../shared/errors.js';
import { QueueClientError } from '@innominatus-queue/client';
import { CliError } from './exitCodes.js';
import { describeSource, type Settings } from './config.js';
import { EXIT, type ExitCode } from './exitCodes.js';

export interface ErrorReport {
  code: string;
  message: string;
  /** Every failing field, when the server listed them. */
  details?: FieldProblem[];
  exitCode: ExitCode;
}

export interface ErrorContext {
  settings: Settings | undefined;
  /** Strip this from field paths: the spec file's fields are `spec.…` on the wire. */
  fieldPrefix?: string;
  /** What was sent, for "The server refused the spec": e.g. `spec`. */
  subject?: string;
}

export function describeError(error: unknown, context: ErrorContext): ErrorReport {
  if (error instanceof CliError) {
    return { code: 'CLI_ERROR', message: error.message, exitCode: error.exitCode };
  }
  if (error instanceof QueueClientError) return describeClientError(error, context);
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'UNEXPECTED', message: `Unexpected error: ${message}`, exitCode: EXIT.refused };
}

function describeClientError(error: QueueClientError, context: ErrorContext): ErrorReport {
  const { settings } = context;
  const url = settings?.url ?? 'the server';
  const configPath = settings?.configPath ?? '~/.config/innominatus-queue/config.json';
  const base = { code: error.code, exitCode: EXIT.refused };
  switch (error.code) {
    case 'NETWORK_ERROR':
    case 'TIMEOUT': {
      const what =
        error.code === 'TIMEOUT'
          ? `The queue server at ${url} did not answer in time.`
          : `Cannot reach the queue server at ${url}${networkReason(error)}.`;
      const from =
        settings && settings.urlSource !== 'default'
          ? `The URL came from ${describeSource(settings.urlSource, 'url', configPath)}`
          : 'That is the default URL';
      return {
        ...base,
        exitCode: EXIT.unreachable,
        message:
          `${what}\nIs the server running? ${from}; set another with --url <url>, the QUEUE_URL ` +
          `environment variable, or "url" in ${configPath}.`,
      };
    }
    case 'UNAUTHORIZED': {
      const why =
        settings?.token && settings.tokenSource
          ? `the token from ${describeSource(settings.tokenSource, 'token', configPath)} was not accepted`
          : 'this needs a token and none was given';
      return {
        ...base,
        message:
          `The server at ${url} refused the request (401 Unauthorized): ${why}.\n` +
          `Pass a token with --token <token>, the QUEUE_TOKEN environment variable, or "token" in ${configPath}.`,
      };
    }
    case 'FORBIDDEN':
      return {
        ...base,
        message: `The server at ${url} refused the request (403 Forbidden): ${error.message}\nThis needs a token with the admin role.`,
      };
    case 'BAD_REQUEST':
      if (error.details && error.details.length > 0) {
        const details = error.details.map((problem) => ({
          path: stripPrefix(problem.path, context.fieldPrefix),
          message: problem.message,
        }));
        const count = details.length === 1 ? '1 problem' : `${details.length} problems`;
        return {
          ...base,
          details,
          message: `The server refused the ${context.subject ?? 'request'} (${count}):\n${details
            .map((p) => `  - ${p.path}: ${p.message}`)
            .join('\n')}`,
        };
      }
      return { ...base, message: error.message };
    case 'TOO_MANY_REQUESTS':
      return { ...base, message: `${error.message} (429 Too Many Requests: try again later)` };
    case 'NOT_FOUND':
    case 'CONFLICT':
    case 'PAYLOAD_TOO_LARGE':
    case 'UNSUPPORTED_MEDIA_TYPE':
      return { ...base, message: error.message };
    case 'INTERNAL_SERVER_ERROR':
    case 'SERVICE_UNAVAILABLE':
    default: {
      const status = error.httpStatus ? ` ${error.httpStatus}` : '';
      return {
        ...base,
        message: `The server at ${url} failed (${error.code}${status}): ${error.message}`,
      };
    }
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'unknown host',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
};

/** ` (connection refused)`: the first known system error code in the cause chain, if any. */
function networkReason(error: Error): string {
  const queue: unknown[] = [error.cause];
  for (let seen = 0; queue.length > 0 && seen < 20; seen++) {
    const next = queue.shift() as { code?: unknown; cause?: unknown; errors?: unknown } | undefined;
    if (!next || typeof next !== 'object') continue;
    if (typeof next.code === 'string' && NETWORK_REASONS[next.code]) {
      return ` (${NETWORK_REASONS[next.code]})`;
    }
    queue.push(next.cause);
    if (Array.isArray(next.errors)) queue.push(...(next.errors as unknown[]));
  }
  return '';
}

function stripPrefix(path: string, prefix: string | undefined): string {
  if (!prefix || !path.startsWith(prefix)) return path;
  return path.slice(prefix.length) || '(root)';
}
