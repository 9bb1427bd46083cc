// The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in this process, its files
// under DATA_DIR. One process only, so a lock file keeps a second server off the same directory.
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import type { Database, Drizzle, Queryable } from './database.js';
import * as schema from './schema.js';

const LOCK_FILE = 'innominatus-queue.pid';

export class DataDirError extends Error {
  override name = 'DataDirError';
}

/** `dataDir` is a directory, or `memory://` for a database that lives and dies with the process. */
export async function openPglite(dataDir: string): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://');
  const releaseLock = inMemory ? () => undefined : lockDataDir(dataDir);
  let client: PGlite;
  try {
    client = await PGlite.create(dataDir);
  } catch (error) {
    releaseLock();
    throw new DataDirError(`Cannot open the embedded database in ${dataDir}: ${String(error)}`, {
      cause: error,
    });
  }
  const db = drizzle({ client, schema }) as unknown as Drizzle;
  const query = async <Row>(text: string, params?: readonly unknown[]): Promise<Row[]> =>
    (await client.query<Row>(text, params as unknown[] | undefined)).rows;

  return {
    kind: 'pglite',
    drizzle: db,
    query,
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return client.transaction((tx) =>
        fn({
          query: async <Row>(text: string, params?: readonly unknown[]) =>
            (await tx.query<Row>(text, params as unknown[] | undefined)).rows,
        }),
      );
    },
    async listen(channel, onMessage) {
      return client.listen(channel, onMessage);
    },
    // One process owns the database, so there is nobody to exclude.
    async withAdvisoryLock(_key, fn) {
      return fn(db);
    },
    async tryAdvisoryLock(_key, fn) {
      return fn({ query });
    },
    async ping() {
      if (client.closed) throw new Error('PGlite is closed');
      await client.query('SELECT 1');
    },
    async close() {
      try {
        if (!client.closed) await client.close();
      } finally {
        releaseLock();
      }
    },
  };
}

/** Takes `<dataDir>/innominatus-queue.pid`, or explains who holds it. Returns the release. */
function lockDataDir(dataDir: string): () => void {
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch (error) {
    throw new DataDirError(
      `The data directory ${dataDir} is not writable (${(error as NodeJS.ErrnoException).code ?? String(error)}). ` +
        'Set DATA_DIR to a writable directory, or DATABASE_URL to use PostgreSQL.',
      { cause: error },
    );
  }
  const lockPath = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        fs.rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirError(
          `The data directory ${dataDir} is in use by another server (pid ${holder}). ` +
            'The embedded database serves one process; use DATABASE_URL (PostgreSQL) to run several nodes.',
        );
      }
      // The holder is gone (killed without cleaning up): take the lock over.
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new DataDirError(`Could not lock the data directory ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
