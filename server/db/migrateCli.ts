// `npm run db:migrate`: brings the configured database (DATABASE_URL, or the embedded one under
// DATA_DIR) up to date without starting a server. The server also migrates at start-up.
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { migrateDatabase } from './migrate.js';
import { openDatabase } from './openDatabase.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { isTTY: process.stdout.isTTY });
  const logger = createLogger({
    ...config.log,
    level: config.log.level === 'info' ? 'debug' : config.log.level,
  });
  const database = await openDatabase(config.database, logger);
  try {
    await migrateDatabase(database, logger);
    logger.info(
      `The ${database.kind === 'postgres' ? 'PostgreSQL' : 'embedded'} database is up to date`,
    );
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
});
