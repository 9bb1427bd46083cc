// Starts a real queue node on port 0 against the test file's database, with logs captured.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createQueueServer, type QueueServer } from '../../server/app.js';
import { loadConfig, type Config } from '../../server/config.js';
import { createQueueClient, type QueueClient } from '@innominatus-queue/client';
import type { Database } from '../../server/db/database.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';
import { guideSpecYaml } from './guideSpec.js';

export const liveServers = new Set<QueueServer>();

export interface TestServer {
  server: QueueServer;
  config: Config;
  url: string;
  client: QueueClient;
  /** Every log line so far, parsed. */
  logs: () => Record<string, unknown>[];
  rawLogs: () => string;
  stop: () => Promise<void>;
}

export const TOKEN = 'test-token';

export async function startTestServer(
  database: TestDatabase,
  env: Record<string, string> = {},
): Promise<TestServer> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    STEP_KILL_GRACE: '1',
    SHUTDOWN_TIMEOUT: '10',
    LOG_LEVEL: 'debug',
    PATH: process.env.PATH,
    // Many tests watch a step from outside (pid files in /tmp, host pids): they run steps
    // unisolated; the sandbox's own tests (steps.*.test.ts) turn it on.
    STEP_SANDBOX: 'off',
    ...database.env,
    ...env,
  });
  let captured = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      captured += chunk.toString();
      done();
    },
  });
  const logger = pino({ level: config.log.level }, sink);
  const server = await createQueueServer({ config, logger });
  await server.start();
  liveServers.add(server);
  return {
    server,
    config,
    url: server.url,
    client: createQueueClient({ url: server.url, token: TOKEN }),
    rawLogs: () => captured,
    logs: () =>
      captured
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: async () => {
      await server.stop();
      liveServers.delete(server);
    },
  };
}

/**
 * A node on the file's (or describe block's) own database, started before its tests and stopped
 * after them, with this environment. Its fields are read inside the tests.
 */
export function useTestNode(env: Record<string, string> = {}): {
  readonly database: TestDatabase;
  readonly node: TestServer;
  readonly db: Database;
} {
  let database: TestDatabase | undefined;
  let node: TestServer | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    node = await startTestServer(database, env);
  });
  afterAll(async () => {
    await node?.stop();
    await database?.drop();
  });
  return {
    get database() {
      return database!;
    },
    get node() {
      return node!;
    },
    get db() {
      return node!.server.services.database;
    },
  };
}

/** An API-only node: nothing claims but the test. */
export function useApiOnlyNode(): ReturnType<typeof useTestNode> {
  return useTestNode({ QUEUE_CONCURRENCY: '0' });
}

export const DEMO_SPEC_YAML = guideSpecYaml();

/** The eight stats of GET /api/queue/stats, with the guide's names, sorted. */
export const GUIDE_STATS_FIELDS = [
  'active_tasks',
  'avg_execution_time_ms',
  'avg_queue_time_ms',
  'queue_size',
  'tasks_completed',
  'tasks_enqueued',
  'tasks_failed',
  'workers',
] as const;

/** A spec whose workflow runs the given bash commands, one step each. */
export function specYaml(name: string, commands: string[], extra = ''): string {
  const steps = commands
    .map(
      (command, i) =>
        `    - name: step-${i + 1}\n      type: bash\n      config:\n        command: ${JSON.stringify(command)}\n${extra}`,
    )
    .join('');
  return `apiVersion: score.dev/v1b1\nmetadata:\n  name: ${name}\ncontainers:\n  web:\n    image: nginx:latest\nworkflow:\n  steps:\n${steps}`;
}

export async function postSpec(
  url: string,
  body: string,
  options: {
    token?: string | null;
    contentType?: string;
    query?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/yaml',
    ...options.headers,
  };
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
  const response = await fetch(`${url}/api/specs${options.query ?? ''}`, {
    method: 'POST',
    headers,
    body,
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

export async function getJson(
  url: string,
  path: string,
  token?: string,
): Promise<{ status: number; body: any }> {
  const response = await fetch(
    `${url}${path}`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  );
  return { status: response.status, body: await response.json() };
}
