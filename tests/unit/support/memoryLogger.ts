// A pino logger that writes to a string, so a test can read what was logged.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface MemoryLogger {
  logger: Logger;
  /** Everything logged so far, one JSON line per entry. */
  text(): string;
  entries(): Record<string, unknown>[];
}

export function memoryLogger(): MemoryLogger {
  let captured = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      captured += chunk.toString('utf8');
      done();
    },
  });
  return {
    logger: pino({ level: 'trace' }, sink),
    text: () => captured,
    entries: () =>
      captured
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
