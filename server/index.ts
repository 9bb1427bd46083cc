// The server's entry point, and the only module with side effects at import: reads the
// environment (and `.env`, when present), starts a node, and stops it gracefully on SIGTERM or
// SIGINT.
import { createQueueServer } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { DataDirError } from './db/pglite.js';
import { createLogger } from './logger.js';

/**
 * Loads `.env` from the working directory into process.env when the file exists. Variables
 * already in the environment keep their values (process.loadEnvFile never overwrites).
 */
function loadDotEnv(): boolean {
  try {
    process.loadEnvFile('.env');
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new Error(`Cannot read .env: ${(error as Error).message}`, { cause: error });
  }
}

async function main(): Promise<void> {
  let config;
  let dotEnv;
  try {
    dotEnv = loadDotEnv();
    config = loadConfig(process.env, { isTTY: process.stdout.isTTY });
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  }
  const logger = createLogger(config.log);
  if (dotEnv) logger.info('Read .env (the environment wins where both set a variable)');
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });

  let server;
  try {
    server = await createQueueServer({ config, logger });
    await server.start();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DataDirError) logger.fatal(error.message);
    else logger.fatal({ err: error }, 'could not start the server');
    await server?.stop().catch(() => undefined);
    logger.flush();
    process.exit(1);
  }

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    logger.info(`${signal} received`);
    server.stop().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

void main();
