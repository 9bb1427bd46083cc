// Named statements are prepared once per PostgreSQL connection and then only bound and run;
// DATABASE_PREPARED_STATEMENTS=false (a pooler that does not track them) sends every statement
// unnamed. PGlite has no connections to prepare on: names are ignored there.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { openPostgres } from '../../server/db/postgres.js';
import {
  createTestDatabase,
  onPostgres,
  POSTGRES_ONLY_MESSAGE,
  type TestDatabase,
} from '../helpers/testDatabase.js';

const logger = pino({ level: 'silent' });

describe.skipIf(!onPostgres)(
  `prepared statements (${onPostgres ? 'PostgreSQL' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    let testDb: TestDatabase;
    const open: Database[] = [];
    const connect = (preparedStatements?: boolean) => {
      const db = openPostgres({ url: testDb.url!, poolSize: 2, logger, preparedStatements });
      open.push(db);
      return db;
    };
    /** The statements prepared on the connection a lone query gets (the pool's last used). */
    const prepared = async (db: Database) =>
      (
        await db.query<{ name: string }>(
          `SELECT name FROM pg_prepared_statements WHERE name LIKE 'test_%' ORDER BY name`,
        )
      ).map((r) => r.name);

    beforeAll(async () => {
      testDb = await createTestDatabase();
    });
    afterAll(async () => {
      await Promise.all(open.map((db) => db.close()));
      await testDb?.drop();
    });

    it('prepares a named statement once and runs it with each call’s parameters', async () => {
      const db = connect();
      const text = 'SELECT $1::int * 2 AS doubled';
      for (const n of [1, 2, 3]) {
        expect(await db.query(text, [n], { name: 'test_double' })).toEqual([{ doubled: n * 2 }]);
      }
      expect(await prepared(db)).toEqual(['test_double']);
      // With a deadline too (the other path through the pool).
      expect(await db.query(text, [5], { name: 'test_double', timeoutMs: 5_000 })).toEqual([
        { doubled: 10 },
      ]);
      // One name is one text: reusing it for another is a programming error, and says so.
      await expect(db.query('SELECT $1::int AS n', [1], { name: 'test_double' })).rejects.toThrow(
        /Prepared statements must be unique/,
      );
    });

    it('sends every statement unnamed when prepared statements are off', async () => {
      const db = connect(false);
      expect(await db.query('SELECT $1::int AS n', [7], { name: 'test_n' })).toEqual([{ n: 7 }]);
      expect(await db.query('SELECT $1::int + 1 AS n', [7], { name: 'test_n' })).toEqual([
        { n: 8 },
      ]);
      expect(await prepared(db)).toEqual([]);
    });
  },
);
