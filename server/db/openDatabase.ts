// Opens the configured database. PostgreSQL connects lazily (the pool), so a server can start
// while the database is still down; PGlite opens its files at once and fails clearly if it can't.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from './database.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export async function openDatabase(config: Config['database'], logger: Logger): Promise<Database> {
  return config.kind === 'postgres'
    ? openPostgres({
        url: config.url,
        poolSize: config.poolSize,
        preparedStatements: config.preparedStatements,
        logger,
      })
    : await openPglite(config.dataDir);
}
