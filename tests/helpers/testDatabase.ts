// A fresh database for each test file: an in-memory PGlite by default, or — when
// TEST_DATABASE_URL is set — a new PostgreSQL database created on that server and dropped after.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;
/** vitest.config.ts runs the integration files once per backend (TEST_BACKEND). */
export const onPostgres =
  TEST_DATABASE_URL !== undefined && (process.env.TEST_BACKEND ?? 'postgres') === 'postgres';
export const POSTGRES_ONLY_MESSAGE =
  'needs PostgreSQL: run with TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm test';

export interface TestDatabase {
  /** Environment for loadConfig: DATABASE_URL or DATA_DIR. */
  env: Record<string, string>;
  /** The PostgreSQL URL of this database (undefined on PGlite). */
  url: string | undefined;
  drop(): Promise<void>;
}

/** `persistent`: on PGlite, keep the data in a temporary directory so a restart finds it. */
export async function createTestDatabase(
  options: { persistent?: boolean } = {},
): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL || !onPostgres) {
    if (!options.persistent) {
      return { env: { DATA_DIR: 'memory://' }, url: undefined, drop: () => Promise.resolve() };
    }
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-test-'));
    return {
      env: { DATA_DIR: dir },
      url: undefined,
      drop: () => fs.rm(dir, { recursive: true, force: true }),
    };
  }
  const name = `queue_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
