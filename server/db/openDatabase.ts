// Opens the configured database and brings its schema up to date.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from './database.js';
import { migrateDatabase } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export async function openDatabase(config: Config['database'], logger: Logger): Promise<Database> {
  const database =
    config.kind === 'postgres'
      ? openPostgres({ url: config.url, poolSize: config.poolSize, logger })
      : await openPglite(config.dataDir);
  try {
    await migrateDatabase(database, logger);
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
  return database;
}
