// One interface over the two databases the queue runs on (PostgreSQL through `pg`, and the
// embedded PGlite), so every queue verb has a single code path. The pattern is pg-boss's
// `executeSql` adapter: raw SQL with $n parameters, rows back.
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema.js';

export type DatabaseKind = 'postgres' | 'pglite';
export type Drizzle = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface QueryOptions {
  /**
   * Gives up on the statement after this long (PostgreSQL: the connection is dropped, since an
   * answer may still arrive on it). For statements whose answer is useless when late, such as a
   * heartbeat. @default no limit
   */
  timeoutMs?: number | undefined;
  /**
   * PostgreSQL: prepares the statement under this name once per connection and then only binds
   * and runs it, skipping the parse and analysis of its text on every call. For the statements a
   * node runs many times a second; one name per text. Ignored on PGlite and inside transactions.
   */
  name?: string | undefined;
}

export interface Queryable {
  /** Runs one statement and returns its rows. int8 columns come back as numbers. */
  query<Row = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<Row[]>;
}

export interface Database extends Queryable {
  readonly kind: DatabaseKind;
  readonly drizzle: Drizzle;
  /** Runs `fn` inside one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `onMessage` for every notification on `channel`. On PostgreSQL the listening connection
   * reconnects by itself after a failure and then calls `onReconnect`, since notifications sent
   * while it was away are lost.
   */
  listen(
    channel: string,
    onMessage: (payload: string) => void,
    onReconnect?: () => void,
  ): Promise<() => Promise<void>>;
  /** Runs `fn` while holding a session-level advisory lock (no-op lock on PGlite: one process). */
  withAdvisoryLock<T>(key: number, fn: (db: Drizzle) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` only if the advisory lock is free, holding it meanwhile; resolves to undefined when
   * another session holds it.
   */
  tryAdvisoryLock<T>(key: number, fn: (db: Queryable) => Promise<T>): Promise<T | undefined>;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Advisory lock keys, one per cluster-wide critical section. */
export const ADVISORY_LOCKS = {
  migrate: 7_301_001,
  retention: 7_301_002,
  fairClaim: 7_301_003,
  analyze: 7_301_004,
} as const;
