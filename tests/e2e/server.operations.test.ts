// What a platform team's deployment relies on: `.env` read at start-up (the real environment
// wins; the development token then stays off), /livez answering without the database, and JSON log lines with level names and ISO times.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/serverProcess.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

let database: TestDatabase;
let dir: string;
let node: ServerProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-dotenv-'));
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

it('reads .env under the real environment, answers /livez, logs level names and ISO times', async () => {
  // STEP_TIMEOUT in .env is invalid: the server only starts if the environment's value wins.
  await fs.writeFile(
    path.join(dir, '.env'),
    '# deployment settings\nAPI_TOKENS=dotenv-token:alice:admin\nSTEP_TIMEOUT=not-a-number\n',
  );
  node = startServerProcess({ ...database.env, STEP_TIMEOUT: '900' }, { cwd: dir });
  const url = await node.url();

  const live = await fetch(`${url}/livez`);
  expect(live.status).toBe(200);
  expect(await live.json()).toEqual({ status: 'ok' });

  const tasks = (token: string) =>
    fetch(`${url}/api/queue/tasks`, { headers: { authorization: `Bearer ${token}` } });
  expect((await tasks('dotenv-token')).status).toBe(200);
  expect((await tasks('test-token')).status).toBe(401);

  const line = await node.waitForLog(/^Read \.env/);
  expect(line.level).toBe('info');
  expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(node.lines().every((l) => typeof l.level === 'string')).toBe(true);
});
