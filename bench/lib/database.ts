// A fresh database per suite: a new database on the PostgreSQL server named by
// BENCH_DATABASE_URL, or a new PGlite data directory. The bench process reads and writes it
// directly (results from the table, bulk rows); on PGlite only while no server holds the files.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { DatabaseKind } from './suite.js';

export interface BenchDatabase {
  readonly kind: DatabaseKind;
  readonly name: string;
  /** The environment a server needs to use this database. */
  readonly env: Record<string, string>;
  /** SQL from the bench process. On PGlite, throws while a server holds the data directory. */
  query<Row>(text: string, params?: unknown[]): Promise<Row[]>;
  /** Called before a server starts on this database; returns the call for when it has exited. */
  attach(): Promise<() => void>;
  /** Closes the bench process's own connection (PGlite: lets a server open the files). */
  release(): Promise<void>;
  drop(): Promise<void>;
}

export interface BenchDatabaseFactory {
  readonly kind: DatabaseKind;
  create(label: string): Promise<BenchDatabase>;
  /** Drops every database created and not dropped yet (also after a failure). */
  dropAll(): Promise<void>;
}

export function createDatabaseFactory(adminUrl: string | undefined): BenchDatabaseFactory {
  const live = new Set<BenchDatabase>();
  let counter = 0;
  const track = (db: BenchDatabase): BenchDatabase => {
    live.add(db);
    const drop = db.drop.bind(db);
    return Object.assign(db, {
      drop: async () => {
        live.delete(db);
        await drop();
      },
    });
  };
  return {
    kind: adminUrl ? 'postgres' : 'pglite',
    async create(label) {
      counter += 1;
      const name = `iq_bench_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${counter}`;
      return track(adminUrl ? await createPostgres(adminUrl, name) : await createPglite(name));
    },
    async dropAll() {
      for (const db of [...live]) {
        await db.drop().catch((error: unknown) => {
          console.error(`could not drop ${db.name}: ${String(error)}`);
        });
      }
    },
  };
}

/** `postgres://…/postgres` with the database part replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function createPostgres(adminUrl: string, name: string): Promise<BenchDatabase> {
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl, name);
  let client: pg.Client | undefined;
  const release = async () => {
    const c = client;
    client = undefined;
    await c?.end().catch(() => undefined);
  };
  return {
    kind: 'postgres',
    name,
    env: { DATABASE_URL: url },
    async query<Row>(text: string, params?: unknown[]) {
      if (!client) {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        client = c;
      }
      return (await client.query(text, params)).rows as Row[];
    },
    // Servers and the bench share a PostgreSQL database freely.
    attach: () => Promise.resolve(() => undefined),
    release,
    async drop() {
      await release();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function createPglite(name: string): Promise<BenchDatabase> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${name}-`));
  let client: PGlite | undefined;
  let servers = 0;
  const release = async () => {
    const c = client;
    client = undefined;
    if (c && !c.closed) await c.close();
  };
  return {
    kind: 'pglite',
    name,
    env: { DATA_DIR: dir },
    async query<Row>(text: string, params?: unknown[]) {
      if (servers > 0) {
        throw new Error(`${name}: a server holds the PGlite data directory; stop it first`);
      }
      client ??= await PGlite.create(dir);
      return (await client.query<Row>(text, params)).rows;
    },
    async attach() {
      // PGlite serves one process: the bench lets go of the files while a server runs.
      await release();
      servers += 1;
      let detached = false;
      return () => {
        if (!detached) servers -= 1;
        detached = true;
      };
    },
    release,
    async drop() {
      await release();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
