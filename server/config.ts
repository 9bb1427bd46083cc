// The server's configuration: every environment variable it reads, parsed once with Zod.
// No other module reads process.env.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { describeZodError, summarizeProblems } from '../shared/index.js';

/** A whole number written in decimal digits: `0x50`, `1e3` and blanks are refused. */
const integer = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.int().min(min).max(max))
    .default(fallback);
/** Seconds, decimals allowed (`0.5`). */
const seconds = (fallback: number, min = 0) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a number of seconds')
    .transform(Number)
    .pipe(z.number().min(min))
    .default(fallback);
const positiveSeconds = (fallback: number) =>
  seconds(fallback).pipe(z.number().positive('must be more than 0'));
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

const envSchema = z.object({
  /** TCP port of the HTTP server. @default 8081 */
  PORT: integer(8081, 0, 65_535),
  /** Address to bind. `localhost` binds both IPv4 and IPv6 loopback. @default localhost */
  HOST: z.string().min(1).default('localhost'),
  /** Workers (tasks run at once) on this node; 0 makes an API-only node. @default 5 */
  QUEUE_CONCURRENCY: integer(5, 0, 1000),
  /**
   * Tasks a node may claim ahead of its free slots while its tasks finish quickly, so a freed slot
   * starts the next task without waiting for a claim. Each waits at most 250 ms, else it is handed
   * back. 0 turns it off; off under APP_CONCURRENCY_LIMIT. @default 200
   */
  QUEUE_PREFETCH: integer(200, 0, 1000),
  /**
   * Under load, a node writes the results of its finished tasks at most once per this many
   * milliseconds, in one statement; after a quiet spell, at once. 0 writes each batch as soon as
   * the previous one is stored. @default 20
   */
  QUEUE_RESULT_BATCH_MS: integer(20, 0, 1000),
  /** PostgreSQL connection string; without it the embedded PGlite database is used. */
  DATABASE_URL: z.string().min(1).optional(),
  /** Connections in the PostgreSQL pool. @default 10 */
  DATABASE_POOL_SIZE: integer(10, 2, 200),
  /**
   * Prepare the statements a node runs many times a second, once per connection. Turn off behind
   * a pooler in transaction mode that does not track prepared statements (PgBouncer before 1.21).
   * @default true
   */
  DATABASE_PREPARED_STATEMENTS: flag(true),
  /** Where PGlite keeps its files. @default ./data */
  DATA_DIR: z.string().min(1).default('data'),
  /** `token:user[:role]` pairs, comma-separated; role `admin` (default), `developer` or `read`. */
  API_TOKENS: z.string().optional(),
  /** A file with one `token:user[:role]` per line (`#` starts a comment). */
  API_TOKENS_FILE: z.string().optional(),
  /** Require a token for the read endpoints too (stats, active tasks). @default false */
  REQUIRE_AUTH_FOR_READS: flag(false),
  /** Largest request body in bytes. @default 1 MiB */
  BODY_LIMIT: integer(1024 * 1024, 1),
  /** Default step timeout, in seconds, when a step sets no `config.timeout`. @default 900 */
  STEP_TIMEOUT: positiveSeconds(900),
  /** Output kept per step (the last bytes win), in bytes. @default 1 MiB */
  STEP_OUTPUT_LIMIT: integer(1024 * 1024, 1),
  /** Seconds between SIGTERM and SIGKILL when a step's process group is stopped. @default 5 */
  STEP_KILL_GRACE: seconds(5),
  /** Parent of the per-task working directories. @default <tmpdir>/innominatus-queue */
  WORK_DIR: z.string().min(1).optional(),
  /** PATH given to steps. @default the server's PATH */
  STEP_PATH: z.string().min(1).optional(),
  /**
   * Hours a failed task's working directory is kept, for a retry from the failed step; 0 removes
   * it at once. @default 24
   */
  FAILED_WORKDIR_HOURS: seconds(24),
  /** Seconds a draining node lets running tasks finish before handing them back. @default 30 */
  SHUTDOWN_TIMEOUT: seconds(30),
  /** Seconds a claimed task stays with its node without a heartbeat. @default 10 */
  LEASE_DURATION: positiveSeconds(10),
  /** Seconds between heartbeats (node row and task leases). @default 2 */
  HEARTBEAT_INTERVAL: positiveSeconds(2),
  /** Seconds between looks for tasks of dead nodes. Recovery bound ≈ lease + this. @default 2 */
  RECOVERY_INTERVAL: positiveSeconds(2),
  /** Seconds between fallback polls (wake-ups are pushed; this catches lost ones). @default 2 */
  POLL_INTERVAL: positiveSeconds(2),
  /** Times a task is given back after its node died before it fails. @default 3 */
  LOST_WORKER_RETRIES: integer(3, 0, 100),
  /** Retries of a failing workflow when its spec sets no `workflow.retries`. @default 0 */
  DEFAULT_RETRIES: integer(0, 0, 10),
  /** First retry delay in seconds; doubles per retry, with jitter. @default 1 */
  RETRY_BASE_DELAY: seconds(1),
  /** Longest retry delay in seconds. @default 300 */
  RETRY_MAX_DELAY: seconds(300),
  /** Most tasks of one application running at once across the cluster; 0 for none. @default 0 */
  APP_CONCURRENCY_LIMIT: integer(0, 0, 1000),
  /** Finished tasks older than this many hours are deleted; 0 keeps them forever. @default 0 */
  RETENTION_HOURS: seconds(0),
  /** Seconds between retention passes. @default 60 */
  RETENTION_INTERVAL: positiveSeconds(60),
  /** Tasks deleted per statement by retention. @default 500 */
  RETENTION_BATCH: integer(500, 1, 100_000),
  /** Enqueues per second allowed to each token (token bucket); 0 for no limit. @default 0 */
  ENQUEUE_RATE_LIMIT: seconds(0),
  /** Enqueues a token may make in a burst above the rate. @default 2 × ENQUEUE_RATE_LIMIT */
  ENQUEUE_RATE_BURST: integer(0, 0, 1_000_000),
  /** Origins allowed to call the API from a browser (CORS), comma-separated; none by default. */
  CORS_ORIGINS: z.string().optional(),
  /** Run steps as this user (name or uid) when the server runs as root. Recommended. */
  STEP_USER: z.string().optional(),
  /**
   * Isolate every step with bubblewrap: `bwrap` requires it, `auto` uses it when `bwrap` is on
   * PATH (and warns when it is not), `off` runs steps unisolated. @default auto
   */
  STEP_SANDBOX: z.enum(['auto', 'bwrap', 'off']).default('auto'),
  /** Host paths a sandboxed step may write to besides its working directory and /tmp, comma-separated. */
  STEP_WRITABLE_PATHS: z.string().optional(),
  /** `off` gives each sandboxed step its own empty network namespace. @default on */
  STEP_NETWORK: z.enum(['on', 'off']).default('on'),
  /**
   * How steps are forked: libc's `posix_spawn` (a vfork, through koffi) where it loads, else
   * Node's fork; `fork` always forks with Node. @default posix_spawn
   */
  STEP_SPAWN: z.enum(['posix_spawn', 'fork']).default('posix_spawn'),
  /** Folder of the golden-path files. @default the shipped goldenpaths/ */
  GOLDEN_PATHS_DIR: z.string().min(1).optional(),
  /** pino level. @default info */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty` for people, `json` for machines; `auto` picks pretty on a terminal. @default auto */
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  /**
   * Allow webhook targets whose addresses are private, loopback or link-local.
   * @default true when HOST is a loopback address, false otherwise
   */
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .transform((value) => value === 'true' || value === '1' || value === 'yes')
    .optional(),
  /** Seconds a webhook request may take (connect to end of answer). @default 10 */
  WEBHOOK_TIMEOUT: positiveSeconds(10),
  /** Webhook requests in flight at once on this node. @default 4 */
  WEBHOOK_CONCURRENCY: integer(4, 1, 100),
  /** First delay before a failed webhook delivery is retried; doubles per attempt up to an hour. @default 5 */
  WEBHOOK_RETRY_BASE_DELAY: positiveSeconds(5),
  /** Hours after its event a delivery that keeps failing is given up. @default 24 */
  WEBHOOK_GIVE_UP_HOURS: positiveSeconds(24),
  /** Seconds between looks for webhook deliveries that are due. @default 1 */
  WEBHOOK_POLL_INTERVAL: positiveSeconds(1),
  /** Hours finished deliveries (and their attempts) stay visible before they are deleted. @default 168 */
  WEBHOOK_HISTORY_HOURS: positiveSeconds(168),
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
});

export interface Config {
  port: number;
  host: string;
  concurrency: number;
  database:
    | { kind: 'postgres'; url: string; poolSize: number; preparedStatements: boolean }
    | { kind: 'pglite'; dataDir: string };
  auth: { tokens: string | undefined; tokensFile: string | undefined; requireForReads: boolean };
  bodyLimit: number;
  steps: {
    defaultTimeoutMs: number;
    outputLimitBytes: number;
    killGraceMs: number;
    workDir: string;
    path: string;
    /** User (name or uid) the steps run as; undefined: the server's own. */
    user: string | undefined;
    /** Fork steps with posix_spawn where it is available (STEP_SPAWN). */
    posixSpawn: boolean;
    sandbox: {
      mode: 'auto' | 'bwrap' | 'off';
      /** Absolute host paths bind-mounted writable into the sandbox. */
      writablePaths: string[];
      network: boolean;
      /** Where `bwrap` is looked for: the server's PATH. */
      searchPath: string;
    };
    /** How long a failed task's working directory is kept; 0: not at all. */
    keepFailedWorkDirMs: number;
  };
  /** Folder of the golden-path files; undefined: the shipped goldenpaths/. */
  goldenPathsDir: string | undefined;
  shutdownTimeoutMs: number;
  queue: {
    leaseMs: number;
    heartbeatMs: number;
    recoveryIntervalMs: number;
    pollIntervalMs: number;
    maxLost: number;
    appLimit: number;
    /** Tasks claimed ahead of free slots at most (0 under a per-application limit). */
    prefetch: number;
    /** Results are written at most once per this many ms under load (0: back to back). */
    resultBatchMs: number;
    defaultRetries: number;
    retry: { baseDelayMs: number; maxDelayMs: number };
  };
  retention: { maxAgeMs: number; intervalMs: number; batchSize: number };
  rateLimit: { perSecond: number; burst: number };
  corsOrigins: string[];
  webhooks: {
    /** Targets in private, loopback and link-local ranges are allowed. */
    allowPrivate: boolean;
    timeoutMs: number;
    concurrency: number;
    retryBaseDelayMs: number;
    retryMaxDelayMs: number;
    giveUpAfterMs: number;
    pollIntervalMs: number;
    historyMs: number;
  };
  log: { level: z.infer<typeof envSchema>['LOG_LEVEL']; format: 'pretty' | 'json' };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment into a Config. Tests pass their own `env`; only index.ts passes
 * `process.env`.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  options: { cwd?: string; isTTY?: boolean } = {},
): Config {
  const parsed = envSchema.safeParse(stripEmpty(env));
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid configuration: ${summarizeProblems(describeZodError(parsed.error))}`,
    );
  }
  const e = parsed.data;
  if (e.HEARTBEAT_INTERVAL >= e.LEASE_DURATION) {
    throw new ConfigError(
      `Invalid configuration: HEARTBEAT_INTERVAL (${e.HEARTBEAT_INTERVAL}s) must be shorter than LEASE_DURATION (${e.LEASE_DURATION}s), or leases expire between heartbeats`,
    );
  }
  const cwd = options.cwd ?? process.cwd();
  return {
    port: e.PORT,
    host: e.HOST,
    concurrency: e.QUEUE_CONCURRENCY,
    database: e.DATABASE_URL
      ? {
          kind: 'postgres',
          url: e.DATABASE_URL,
          poolSize: e.DATABASE_POOL_SIZE,
          preparedStatements: e.DATABASE_PREPARED_STATEMENTS,
        }
      : {
          kind: 'pglite',
          // `memory://` keeps the database in memory (tests, throwaway demos).
          dataDir: e.DATA_DIR.startsWith('memory://') ? e.DATA_DIR : path.resolve(cwd, e.DATA_DIR),
        },
    auth: {
      tokens: e.API_TOKENS,
      tokensFile: e.API_TOKENS_FILE,
      requireForReads: e.REQUIRE_AUTH_FOR_READS,
    },
    bodyLimit: e.BODY_LIMIT,
    steps: {
      defaultTimeoutMs: e.STEP_TIMEOUT * 1000,
      outputLimitBytes: e.STEP_OUTPUT_LIMIT,
      killGraceMs: e.STEP_KILL_GRACE * 1000,
      workDir: path.resolve(cwd, e.WORK_DIR ?? path.join(os.tmpdir(), 'innominatus-queue')),
      path: e.STEP_PATH ?? e.PATH,
      user: e.STEP_USER,
      posixSpawn: e.STEP_SPAWN === 'posix_spawn',
      sandbox: {
        mode: e.STEP_SANDBOX,
        writablePaths: splitList(e.STEP_WRITABLE_PATHS).map((p) => path.resolve(cwd, p)),
        network: e.STEP_NETWORK === 'on',
        searchPath: e.PATH,
      },
      keepFailedWorkDirMs: e.FAILED_WORKDIR_HOURS * 3_600_000,
    },
    goldenPathsDir:
      e.GOLDEN_PATHS_DIR === undefined ? undefined : path.resolve(cwd, e.GOLDEN_PATHS_DIR),
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    queue: {
      leaseMs: e.LEASE_DURATION * 1000,
      heartbeatMs: e.HEARTBEAT_INTERVAL * 1000,
      recoveryIntervalMs: e.RECOVERY_INTERVAL * 1000,
      pollIntervalMs: e.POLL_INTERVAL * 1000,
      maxLost: e.LOST_WORKER_RETRIES,
      appLimit: e.APP_CONCURRENCY_LIMIT,
      prefetch: e.APP_CONCURRENCY_LIMIT > 0 ? 0 : e.QUEUE_PREFETCH,
      resultBatchMs: e.QUEUE_RESULT_BATCH_MS,
      defaultRetries: e.DEFAULT_RETRIES,
      retry: { baseDelayMs: e.RETRY_BASE_DELAY * 1000, maxDelayMs: e.RETRY_MAX_DELAY * 1000 },
    },
    retention: {
      maxAgeMs: e.RETENTION_HOURS * 3_600_000,
      intervalMs: e.RETENTION_INTERVAL * 1000,
      batchSize: e.RETENTION_BATCH,
    },
    rateLimit: {
      perSecond: e.ENQUEUE_RATE_LIMIT,
      burst: e.ENQUEUE_RATE_BURST || Math.max(1, Math.ceil(e.ENQUEUE_RATE_LIMIT * 2)),
    },
    corsOrigins: splitList(e.CORS_ORIGINS),
    webhooks: {
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE ?? isLoopback(e.HOST),
      timeoutMs: e.WEBHOOK_TIMEOUT * 1000,
      concurrency: e.WEBHOOK_CONCURRENCY,
      retryBaseDelayMs: e.WEBHOOK_RETRY_BASE_DELAY * 1000,
      retryMaxDelayMs: 3_600_000,
      giveUpAfterMs: e.WEBHOOK_GIVE_UP_HOURS * 3_600_000,
      pollIntervalMs: e.WEBHOOK_POLL_INTERVAL * 1000,
      historyMs: e.WEBHOOK_HISTORY_HOURS * 3_600_000,
    },
    log: {
      level: e.LOG_LEVEL,
      format: e.LOG_FORMAT === 'auto' ? (options.isTTY ? 'pretty' : 'json') : e.LOG_FORMAT,
    },
  };
}

/** `a, b,,c` -> `['a', 'b', 'c']`. */
function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `FOO=` (or `FOO=' '`) in a shell means "unset" to people; treat it so. Values are trimmed. */
function stripEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const trimmed = value?.trim();
    if (trimmed !== undefined && trimmed !== '') out[key] = trimmed;
  }
  return out;
}

/** Whether HOST binds loopback only. */
export function isLoopback(host: string): boolean {
  return (
    host === 'localhost' ||
    host === '::1' ||
    host === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(host) ||
    host === '::ffff:127.0.0.1'
  );
}
