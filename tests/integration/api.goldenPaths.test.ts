// GET /api/golden-paths and tRPC goldenPaths list the golden paths of GOLDEN_PATHS_DIR with their
// steps; a developer token runs one of them; a broken folder stops the start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueClient } from '@innominatus-queue/client';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { getJson, postSpec, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const DEV = 'developer-token-31ab';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-golden-'));
fs.writeFileSync(
  path.join(dir, 'hello.yaml'),
  `description: Say hello
workflow:
  steps:
    - name: greet
      description: Prints a greeting
      type: bash
      config:
        command: echo "hello \${APP_NAME}"
    - name: quiet
      type: bash
      config:
        command: "true"
`,
);

let database: TestDatabase;
let node: TestServer;
beforeAll(async () => {
  database = await createTestDatabase();
  node = await startTestServer(database, {
    GOLDEN_PATHS_DIR: dir,
    API_TOKENS: `${DEV}:dave:developer`,
  });
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const EXPECTED = {
  count: 1,
  golden_paths: [
    {
      name: 'hello',
      description: 'Say hello',
      default: false,
      steps: [
        { name: 'greet', type: 'bash', description: 'Prints a greeting' },
        { name: 'quiet', type: 'bash', description: null },
      ],
    },
  ],
};

describe('the golden-path listing', () => {
  it('is the same over REST and tRPC, with no token needed while reads are open', async () => {
    const rest = await getJson(node.url, '/api/golden-paths');
    expect(rest).toEqual({ status: 200, body: EXPECTED });
    expect(await createQueueClient({ url: node.url }).goldenPaths()).toEqual(EXPECTED);
  });

  it('names what a developer token can run', async () => {
    const spec =
      'apiVersion: score.dev/v1b1\nmetadata:\n  name: dev-app\ncontainers:\n  web:\n    image: nginx\n';
    const posted = await postSpec(node.url, spec, { token: DEV, query: '?golden_path=hello' });
    expect(posted.status).toBe(202);
    const task = await waitFor(
      async () => {
        const t = await createQueueClient({ url: node.url, token: DEV }).task(
          posted.body.task_id as string,
        );
        return t.status === 'completed' ? t : undefined;
      },
      { what: 'the golden path to run' },
    );
    expect(task.steps[0]!.output).toBe('hello dev-app\n');
    // The shipped default is not in this folder.
    expect((await postSpec(node.url, spec, { token: DEV })).status).toBe(404);
  });
});

describe('a broken GOLDEN_PATHS_DIR', () => {
  it('stops the start, naming the file, the field and the rule', async () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-golden-broken-'));
    try {
      fs.writeFileSync(
        path.join(broken, 'bad.yaml'),
        'workflow:\n  steps:\n    - name: x\n      type: bash\n      config: {}\n',
      );
      await expect(startTestServer(database, { GOLDEN_PATHS_DIR: broken })).rejects.toThrow(
        `Golden path file ${broken}/bad.yaml is invalid: workflow.steps[0].config.command: `,
      );
    } finally {
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });
});
