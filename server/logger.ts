// Structured logs with pino: JSON for machines (level names and ISO-8601 times, as log
// platforms expect them), pino-pretty lines on a terminal.
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';

/** Paths that may hold a credential: they never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'config.auth.tokens',
];

export function createLogger(config: Config['log'], destination?: DestinationStream): Logger {
  const options = {
    level: config.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  const json = {
    ...options,
    formatters: { level: (label: string) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(json, destination);
  if (config.format === 'pretty') {
    return pino(
      options,
      pretty({
        colorize: true,
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(json, pino.destination({ sync: false }));
}
