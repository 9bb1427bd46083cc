// PostgreSQL through node-postgres: a pool for queries, and one dedicated connection for LISTEN
// that reconnects by itself.
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Database, Drizzle, Queryable, QueryOptions } from './database.js';
import * as schema from './schema.js';

const INT8_OID = 20;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/** int8 as a JS number: ids and counters stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(
          oid,
          format ?? 'text',
        ) as unknown)) as typeof pg.types.getTypeParser,
};

export interface PostgresOptions {
  url: string;
  poolSize: number;
  logger: Logger;
  /** application_name, shown in pg_stat_activity. */
  applicationName?: string;
  /** Honour QueryOptions.name (prepared statements). @default true */
  preparedStatements?: boolean;
}

export function openPostgres(options: PostgresOptions): Database {
  const { url, logger } = options;
  const prepare = options.preparedStatements ?? true;
  const connection = {
    connectionString: url,
    types,
    application_name: options.applicationName ?? 'innominatus-queue',
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
  };
  const pool = new pg.Pool({ ...connection, max: options.poolSize, idleTimeoutMillis: 30_000 });
  // An idle client that loses its server emits here; without a handler the process would die.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection lost'));
  const db = drizzle({ client: pool, schema }) as unknown as Drizzle;
  const listeners = new Set<PgListener>();

  const query = async <Row>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<Row[]> => {
    const name = prepare ? options?.name : undefined;
    if (options?.timeoutMs === undefined) {
      const config = { name, text, values: params as unknown[] | undefined };
      return (await pool.query(config)).rows as Row[];
    }
    // query_timeout bounds the wait for the answer; the pool drops a client whose query failed,
    // so a connection stuck behind a network cut is not handed out again. Waiting for a free
    // connection is bounded by connectionTimeoutMillis, and the whole call by the race.
    return withDeadline(
      pool
        .query({
          name,
          text,
          values: params as unknown[] | undefined,
          query_timeout: options.timeoutMs,
        } as pg.QueryConfig)
        .then((result) => result.rows as Row[]),
      options.timeoutMs,
    );
  };

  return {
    kind: 'postgres',
    drizzle: db,
    query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: async <Row>(text: string, params?: readonly unknown[]) =>
            (await client.query(text, params as unknown[] | undefined)).rows as Row[],
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async listen(channel, onMessage, onReconnect) {
      const listener = new PgListener(connection, channel, onMessage, onReconnect, logger);
      listeners.add(listener);
      await listener.start();
      return async () => {
        listeners.delete(listener);
        await listener.stop();
      };
    },
    async withAdvisoryLock(key, fn) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [key]);
        try {
          const locked: Drizzle = drizzle({ client, schema });
          return await fn(locked);
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [key]);
        }
      } finally {
        client.release();
      }
    },
    async tryAdvisoryLock(key, fn) {
      const client = await pool.connect();
      try {
        const [row] = (
          await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
            key,
          ])
        ).rows;
        if (!row?.locked) return undefined;
        try {
          return await fn({
            query: async <Row>(text: string, params?: readonly unknown[]) =>
              (await client.query(text, params as unknown[] | undefined)).rows as Row[],
          });
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [key]);
        }
      } finally {
        client.release();
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await Promise.all([...listeners].map((l) => l.stop()));
      listeners.clear();
      await pool.end();
    },
  };
}

export class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError';
  readonly code = 'ETIMEDOUT';
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new QueryTimeoutError(`the database did not answer within ${ms} ms`)),
      ms + 50,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** One LISTEN connection per channel; reconnects with backoff until stopped. */
class PgListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private delayMs = RECONNECT_MIN_MS;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly channel: string,
    private readonly onMessage: (payload: string) => void,
    private readonly onReconnect: (() => void) | undefined,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.connection);
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.onMessage(message.payload ?? '');
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error, channel: this.channel }, 'LISTEN connection lost');
      this.scheduleReconnect(client);
    });
    client.on('end', () => this.scheduleReconnect(client));
    this.client = client;
    await client.connect();
    await client.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`);
    this.delayMs = RECONNECT_MIN_MS;
  }

  private scheduleReconnect(failed: pg.Client): void {
    if (this.stopped || this.client !== failed || this.retryTimer) return;
    this.client = undefined;
    failed.removeAllListeners('end');
    failed.end().catch(() => undefined);
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, RECONNECT_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      this.connect().then(
        () => {
          this.logger.info({ channel: this.channel }, 'LISTEN connection restored');
          this.onReconnect?.();
        },
        (error: unknown) => {
          this.logger.debug({ err: error, channel: this.channel }, 'LISTEN reconnect failed');
          if (this.client) this.scheduleReconnect(this.client);
        },
      );
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
