// loadConfig: the environment, parsed once; defaults, the database choice, and refusals that
// name the variable at fault.
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

const cwd = path.join(os.tmpdir(), 'queue-config-test');

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env, { cwd });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('defaults', () => {
  const config = loadConfig({}, { cwd });

  it('listens on localhost:8081 with 5 workers', () => {
    expect(config.port).toBe(8081);
    expect(config.host).toBe('localhost');
    expect(config.concurrency).toBe(5);
  });

  it('uses PGlite in ./data, resolved against the given cwd', () => {
    expect(config.database).toEqual({ kind: 'pglite', dataDir: path.join(cwd, 'data') });
  });

  it('has no tokens and open reads', () => {
    expect(config.auth).toEqual({
      tokens: undefined,
      tokensFile: undefined,
      requireForReads: false,
    });
  });

  it('gives steps 15 minutes, 1 MiB of output and 5 s between SIGTERM and SIGKILL', () => {
    expect(config.steps).toMatchObject({
      defaultTimeoutMs: 900_000,
      outputLimitBytes: 1024 * 1024,
      killGraceMs: 5_000,
      workDir: path.join(os.tmpdir(), 'innominatus-queue'),
      path: '/usr/local/bin:/usr/bin:/bin',
    });
    expect(config.bodyLimit).toBe(1024 * 1024);
  });

  it('turns the queue timings from seconds into milliseconds', () => {
    expect(config.queue).toMatchObject({
      leaseMs: 10_000,
      heartbeatMs: 2_000,
      recoveryIntervalMs: 2_000,
      pollIntervalMs: 2_000,
      maxLost: 3,
      prefetch: 200,
      resultBatchMs: 20,
      defaultRetries: 0,
      retry: { baseDelayMs: 1_000, maxDelayMs: 300_000 },
    });
    expect(config.shutdownTimeoutMs).toBe(30_000);
  });

  it('batches results as QUEUE_RESULT_BATCH_MS says, within bounds', () => {
    expect(loadConfig({ QUEUE_RESULT_BATCH_MS: '0' }, { cwd }).queue.resultBatchMs).toBe(0);
    expect(loadConfig({ QUEUE_RESULT_BATCH_MS: '50' }, { cwd }).queue.resultBatchMs).toBe(50);
    expect(() => loadConfig({ QUEUE_RESULT_BATCH_MS: '-1' }, { cwd })).toThrow(
      /QUEUE_RESULT_BATCH_MS/,
    );
  });

  it('forks steps with posix_spawn unless STEP_SPAWN=fork', () => {
    expect(loadConfig({}, { cwd }).steps.posixSpawn).toBe(true);
    expect(loadConfig({ STEP_SPAWN: 'fork' }, { cwd }).steps.posixSpawn).toBe(false);
    expect(() => loadConfig({ STEP_SPAWN: 'vfork' }, { cwd })).toThrow(/STEP_SPAWN/);
  });

  it('claims ahead as QUEUE_PREFETCH says, and never under a per-application limit', () => {
    expect(loadConfig({ QUEUE_PREFETCH: '0' }, { cwd }).queue.prefetch).toBe(0);
    expect(loadConfig({ QUEUE_PREFETCH: '7' }, { cwd }).queue.prefetch).toBe(7);
    const limited = loadConfig({ QUEUE_PREFETCH: '7', APP_CONCURRENCY_LIMIT: '2' }, { cwd });
    expect(limited.queue.prefetch).toBe(0);
  });

  it('logs at info, as JSON when not on a terminal', () => {
    expect(config.log).toEqual({ level: 'info', format: 'json' });
  });
});

describe('values from the environment', () => {
  it('parses numbers and flags', () => {
    const config = loadConfig(
      {
        PORT: '0',
        HOST: '0.0.0.0',
        QUEUE_CONCURRENCY: '0',
        REQUIRE_AUTH_FOR_READS: 'yes',
        STEP_TIMEOUT: '2.5',
        STEP_KILL_GRACE: '0',
        LEASE_DURATION: '0.5',
        HEARTBEAT_INTERVAL: '0.1',
      },
      { cwd },
    );
    expect(config.port).toBe(0);
    expect(config.host).toBe('0.0.0.0');
    expect(config.concurrency).toBe(0);
    expect(config.auth.requireForReads).toBe(true);
    expect(config.steps.defaultTimeoutMs).toBe(2_500);
    expect(config.steps.killGraceMs).toBe(0);
    expect(config.queue.leaseMs).toBe(500);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads the flag %j as %s', (value, expected) => {
    expect(loadConfig({ REQUIRE_AUTH_FOR_READS: value }, { cwd }).auth.requireForReads).toBe(
      expected,
    );
  });

  it('switches to PostgreSQL when DATABASE_URL is set', () => {
    const url = 'postgres://queue:secret@db.internal:5432/queue';
    expect(loadConfig({ DATABASE_URL: url, DATA_DIR: 'ignored' }, { cwd }).database).toEqual({
      kind: 'postgres',
      url,
      poolSize: 10,
      preparedStatements: true,
    });
    expect(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '4' }, { cwd }).database).toEqual({
      kind: 'postgres',
      url,
      poolSize: 4,
      preparedStatements: true,
    });
    const unprepared = { DATABASE_URL: url, DATABASE_PREPARED_STATEMENTS: 'false' };
    expect(loadConfig(unprepared, { cwd }).database).toMatchObject({ preparedStatements: false });
  });

  it('resolves a relative DATA_DIR against cwd and keeps an absolute one', () => {
    expect(loadConfig({ DATA_DIR: 'var/db' }, { cwd }).database).toEqual({
      kind: 'pglite',
      dataDir: path.join(cwd, 'var/db'),
    });
    expect(loadConfig({ DATA_DIR: '/srv/queue' }, { cwd }).database).toEqual({
      kind: 'pglite',
      dataDir: '/srv/queue',
    });
  });

  it('keeps memory:// as it is', () => {
    expect(loadConfig({ DATA_DIR: 'memory://' }, { cwd }).database).toEqual({
      kind: 'pglite',
      dataDir: 'memory://',
    });
    expect(loadConfig({ DATA_DIR: 'memory://test-db' }, { cwd }).database).toEqual({
      kind: 'pglite',
      dataDir: 'memory://test-db',
    });
  });

  it('resolves WORK_DIR against cwd', () => {
    expect(loadConfig({ WORK_DIR: 'work' }, { cwd }).steps.workDir).toBe(path.join(cwd, 'work'));
  });

  it('gives steps STEP_PATH, else the server PATH', () => {
    expect(loadConfig({ PATH: '/a:/b' }, { cwd }).steps.path).toBe('/a:/b');
    expect(loadConfig({ PATH: '/a:/b', STEP_PATH: '/c' }, { cwd }).steps.path).toBe('/c');
  });

  it('keeps the token settings as given, for the authenticator to parse', () => {
    const config = loadConfig(
      { API_TOKENS: 'abcdefgh:alice', API_TOKENS_FILE: '/etc/queue/tokens' },
      { cwd },
    );
    expect(config.auth.tokens).toBe('abcdefgh:alice');
    expect(config.auth.tokensFile).toBe('/etc/queue/tokens');
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ HOME: '/root', SOMETHING_ELSE: 'x' }, { cwd })).not.toThrow();
  });
});

describe('empty strings count as unset', () => {
  it('falls back to the defaults', () => {
    const config = loadConfig(
      {
        PORT: '',
        HOST: '',
        QUEUE_CONCURRENCY: '',
        DATABASE_URL: '',
        DATA_DIR: '',
        API_TOKENS: '',
        REQUIRE_AUTH_FOR_READS: '',
        LOG_LEVEL: '',
        LOG_FORMAT: '',
        STEP_PATH: '',
        PATH: undefined,
      },
      { cwd },
    );
    expect(config.port).toBe(8081);
    expect(config.host).toBe('localhost');
    expect(config.concurrency).toBe(5);
    expect(config.database).toEqual({ kind: 'pglite', dataDir: path.join(cwd, 'data') });
    expect(config.auth.tokens).toBeUndefined();
    expect(config.auth.requireForReads).toBe(false);
    expect(config.log).toEqual({ level: 'info', format: 'json' });
    expect(config.steps.path).toBe('/usr/local/bin:/usr/bin:/bin');
  });
});

describe('invalid values', () => {
  it.each([
    ['PORT', 'http'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['QUEUE_CONCURRENCY', '-1'],
    ['QUEUE_CONCURRENCY', '1001'],
    ['QUEUE_PREFETCH', '-1'],
    ['QUEUE_PREFETCH', '1001'],
    ['DATABASE_POOL_SIZE', '1'],
    ['BODY_LIMIT', '0'],
    ['STEP_TIMEOUT', '-1'],
    ['STEP_OUTPUT_LIMIT', 'lots'],
    ['LEASE_DURATION', '0'],
    ['HEARTBEAT_INTERVAL', '-2'],
    ['LOST_WORKER_RETRIES', '101'],
    ['DEFAULT_RETRIES', '11'],
    ['REQUIRE_AUTH_FOR_READS', 'TRUE'],
    ['REQUIRE_AUTH_FOR_READS', 'maybe'],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_FORMAT', 'xml'],
  ])('refuses %s=%j, naming the variable', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.name).toBe('ConfigError');
    expect(error.message).toMatch(/^Invalid configuration: /);
    expect(error.message).toContain(`${name}: `);
  });

  it('names every invalid variable at once', () => {
    const error = configError({ PORT: 'x', LOG_LEVEL: 'loud', DEFAULT_RETRIES: '99' });
    for (const name of ['PORT', 'LOG_LEVEL', 'DEFAULT_RETRIES']) {
      expect(error.message).toContain(`${name}: `);
    }
  });

  // Regression (fixed): z.coerce.number() reads a blank value as Number(' ') === 0, so a whitespace-only
  // value is neither treated as unset (stripEmpty only drops '') nor refused: QUEUE_CONCURRENCY
  // becomes 0 (a node that never runs a task), PORT a random port, STEP_TIMEOUT 0 (every step
  // times out at once).
  it.each(['PORT', 'QUEUE_CONCURRENCY', 'STEP_TIMEOUT'])(
    'does not read a blank %s as 0',
    (name) => {
      const defaults = loadConfig({}, { cwd });
      let config;
      try {
        config = loadConfig({ [name]: ' ' }, { cwd });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return;
      }
      expect(config).toEqual(defaults);
    },
  );

  it('says why a value is refused', () => {
    expect(configError({ PORT: 'http' }).message).toBe(
      'Invalid configuration: PORT: must be a whole number',
    );
  });
});

describe('LOG_FORMAT', () => {
  it('auto picks pretty only on a terminal', () => {
    expect(loadConfig({}, { cwd, isTTY: true }).log.format).toBe('pretty');
    expect(loadConfig({}, { cwd, isTTY: false }).log.format).toBe('json');
    expect(loadConfig({}, { cwd }).log.format).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'auto' }, { cwd, isTTY: true }).log.format).toBe('pretty');
  });

  it('an explicit format wins over the terminal', () => {
    expect(loadConfig({ LOG_FORMAT: 'json' }, { cwd, isTTY: true }).log.format).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }, { cwd, isTTY: false }).log.format).toBe('pretty');
  });

  it('takes LOG_LEVEL', () => {
    expect(loadConfig({ LOG_LEVEL: 'silent' }, { cwd }).log.level).toBe('silent');
  });
});

describe('leases and heartbeats', () => {
  it('refuses a heartbeat that is not shorter than the lease', () => {
    expect(() => loadConfig({ LEASE_DURATION: '2', HEARTBEAT_INTERVAL: '2' })).toThrow(
      /HEARTBEAT_INTERVAL \(2s\) must be shorter than LEASE_DURATION \(2s\)/,
    );
  });

  it.each(['0x50', '1e3', '8081.5', '-1'])(
    'refuses PORT=%s written other than in decimal digits',
    (port) => {
      expect(() => loadConfig({ PORT: port })).toThrow(/PORT: must be a whole number/);
    },
  );
});

describe('webhooks', () => {
  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['10.0.0.5', false],
  ])('allows private targets by default only on loopback (HOST=%s → %s)', (host, allowed) => {
    expect(loadConfig({ HOST: host }, { cwd }).webhooks.allowPrivate).toBe(allowed);
  });

  it('follows WEBHOOK_ALLOW_PRIVATE when it is set', () => {
    expect(
      loadConfig({ HOST: '0.0.0.0', WEBHOOK_ALLOW_PRIVATE: 'true' }).webhooks.allowPrivate,
    ).toBe(true);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'no' }).webhooks.allowPrivate).toBe(false);
    expect(configError({ WEBHOOK_ALLOW_PRIVATE: 'maybe' }).message).toContain(
      'WEBHOOK_ALLOW_PRIVATE',
    );
  });

  it('reads the delivery settings in seconds and hours', () => {
    const { webhooks } = loadConfig(
      { WEBHOOK_TIMEOUT: '2.5', WEBHOOK_GIVE_UP_HOURS: '1' },
      { cwd },
    );
    expect(webhooks).toMatchObject({ timeoutMs: 2500, giveUpAfterMs: 3_600_000, concurrency: 4 });
  });
});
