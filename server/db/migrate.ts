// Applies the drizzle-kit migrations under drizzle/. Several servers starting at once against one
// PostgreSQL take turns through an advisory lock, so none sees a half-migrated schema.
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import type { Logger } from 'pino';
import { MIGRATIONS_DIR } from '../paths.js';
import { ADVISORY_LOCKS, type Database } from './database.js';

export async function migrateDatabase(
  database: Database,
  logger: Logger,
  migrationsFolder = MIGRATIONS_DIR,
): Promise<void> {
  const started = performance.now();
  await database.withAdvisoryLock(ADVISORY_LOCKS.migrate, async (db) => {
    if (database.kind === 'postgres') {
      await migratePg(db as unknown as NodePgDatabase, { migrationsFolder });
    } else {
      await migratePglite(db as unknown as PgliteDatabase, { migrationsFolder });
    }
  });
  logger.debug(
    { durationMs: Math.round(performance.now() - started) },
    'database schema is up to date',
  );
}
